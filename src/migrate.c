/* `romtrack migrate`: ordered SQL files, a bookkeeping table, an advisory lock against races. */
#include "migrate.h"

#include "buf.h"
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE__LOCK_KEY "7201452" /* arbitrary, constant: serialises concurrent migrates */
#define MIGRATE__MAX_FILES 1000
#define MIGRATE__MAX_BYTES ((size_t)256 * 1024 * 1024) /* as a YAML input of the import */

/* NNN_name.sql: three digits, an underscore, [a-z0-9_]+. */
static bool
migrate__name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 9 || strcmp(name + n - 4, ".sql") != 0 || name[3] != '_')
		return false;
	for (int i = 0; i < 3; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	for (size_t i = 4; i < n - 4; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

static int
migrate__cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Applies one file in a transaction together with its bookkeeping row. */
static bool
migrate__apply(PGconn *conn, const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096], version[4];
	struct buf sql = {0};
	PGresult *res;
	bool ok = false;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(version, sizeof version, "%.3s", name);
	if (!buf_read_file(&sql, path, MIGRATE__MAX_BYTES, err, errlen))
		return false;
	if (!db_run(conn, "BEGIN", NULL, 0, NULL, name, err, errlen))
		goto out;
	/* The file is trusted project code, not request input: it runs as one script. */
	res = PQexec(conn, sql.data);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s: %s", path, PQresultErrorMessage(res));
		PQclear(res);
		PQclear(PQexec(conn, "ROLLBACK"));
		goto out;
	}
	PQclear(res);
	if (!db_run(conn, "INSERT INTO schema_migration (version, name) VALUES ($1::int, $2)",
		    (const char *const[]){version, name}, 2, NULL, name, err, errlen) ||
	    !db_run(conn, "COMMIT", NULL, 0, NULL, name, err, errlen)) {
		PQclear(PQexec(conn, "ROLLBACK"));
		goto out;
	}
	printf("applied %s\n", name);
	ok = true;
out:
	buf_free(&sql);
	return ok;
}

bool
migrate_run(PGconn *conn, const char *dir, char *err, size_t errlen)
{
	char *names[MIGRATE__MAX_FILES];
	size_t count = 0, applied = 0;
	struct dirent *de;
	PGresult *res = NULL;
	bool ok = false;
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return false;
	}
	/* Every file of the folder is a migration (hidden ones aside): a misnamed one is an
	 * error, never skipped in silence. */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!migrate__name_ok(de->d_name)) {
			snprintf(err, errlen,
				 "%s/%s: not a migration name: expected NNN_name.sql (three digits, "
				 "an underscore, lower-case letters, digits and '_')",
				 dir, de->d_name);
			closedir(d);
			goto out;
		}
		if (count == MIGRATE__MAX_FILES) {
			snprintf(err, errlen, "%s: more than %d migrations", dir, MIGRATE__MAX_FILES);
			closedir(d);
			goto out;
		}
		if ((names[count++] = strdup(de->d_name)) == NULL)
			abort();
	}
	closedir(d);
	qsort(names, count, sizeof names[0], migrate__cmp);
	for (size_t i = 1; i < count; i++) {
		if (strncmp(names[i], names[i - 1], 3) == 0) {
			snprintf(err, errlen, "%s/%s: number %.3s is also used by %s", dir, names[i], names[i],
				 names[i - 1]);
			goto out;
		}
	}
	if (!db_run(conn, "SELECT pg_advisory_lock(" MIGRATE__LOCK_KEY ")", NULL, 0, NULL, "lock", err, errlen) ||
	    !db_run(conn,
		    "CREATE TABLE IF NOT EXISTS schema_migration ("
		    " version integer PRIMARY KEY, name text NOT NULL,"
		    " applied_at timestamptz NOT NULL DEFAULT now())",
		    NULL, 0, NULL, "schema_migration", err, errlen))
		goto out;
	for (size_t i = 0; i < count; i++) {
		char version[4];

		snprintf(version, sizeof version, "%.3s", names[i]);
		if (!db_run(conn, "SELECT name FROM schema_migration WHERE version = $1::int",
			    (const char *const[]){version}, 1, &res, names[i], err, errlen))
			goto out;
		if (PQntuples(res) == 0) {
			if (!migrate__apply(conn, dir, names[i], err, errlen))
				goto out;
			applied++;
		} else if (strcmp(PQgetvalue(res, 0, 0), names[i]) != 0) {
			snprintf(err, errlen, "%s/%s: version %s was applied as %s", dir, names[i], version,
				 PQgetvalue(res, 0, 0));
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	printf("%zu migration%s applied, schema up to date\n", applied, applied == 1 ? "" : "s");
	ok = true;
out:
	PQclear(res);
	PQclear(PQexec(conn, "SELECT pg_advisory_unlock_all()"));
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	return ok;
}
