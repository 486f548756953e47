/* Connection handling, statement preparation, reconnects and SQLSTATE mapping. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct db {
	PGconn *conn;
	char *conninfo;
	bool prepare;
	bool ready; /* connected, and prepared when asked to */
	char data_version[128]; /* the latest one known on this connection; "" until asked */
	char error[512];
};

static void
db__set_error(struct db *db, const char *what, const char *msg)
{
	size_t n;

	snprintf(db->error, sizeof db->error, "%s: %s", what, msg ? msg : "unknown error");
	n = strlen(db->error);
	while (n > 0 && (db->error[n - 1] == '\n' || db->error[n - 1] == ' '))
		db->error[--n] = '\0';
}

/* Session settings and statements, after each (re)connect. */
static bool
db__setup(struct db *db)
{
	PGresult *res;

	res = PQexecParams(db->conn, "SELECT set_config('datestyle', 'ISO, YMD', false)", 0, NULL,
			   NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db__set_error(db, "session setup", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	PQclear(res);
	if (!db->prepare)
		return true;
	/* Fixed text: LISTEN takes no parameters. */
	res = PQexecParams(db->conn, "LISTEN " DB_DATA_VERSION_CHANNEL, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db__set_error(db, "listen", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	PQclear(res);
	for (int i = 0; i < DB_STMT__MAX; i++) {
		res = PQprepare(db->conn, db_stmts[i].name, db_stmts[i].sql, db_stmts[i].nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			db__set_error(db, db_stmts[i].name, PQresultErrorMessage(res));
			log_error("cannot prepare statement %s: %s", db_stmts[i].name, db->error);
			PQclear(res);
			return false;
		}
		PQclear(res);
	}
	return true;
}

/* Server notices ("relation already exists, skipping") are for the debug log only. */
static void
db__notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("database notice: %.*s", (int)strcspn(message, "\n"), message);
}

bool
db_ensure(struct db *db)
{
	if (db->ready && PQstatus(db->conn) == CONNECTION_OK)
		return true;
	db->ready = false;
	db->data_version[0] = '\0'; /* notifications sent while away are lost: ask again */
	if (db->conn == NULL) {
		/* Defaults first, the configured conninfo after them: it may override both.
		 * Without a connect timeout a black-holed host would stall a worker for
		 * minutes; API statements are short, an import's COPY is not. */
		const char *const keys[] = {"connect_timeout", "options", "dbname", NULL};
		const char *const values[] = {"5", db->prepare ? "-c statement_timeout=10000" : "", db->conninfo,
					      NULL};

		db->conn = PQconnectdbParams(keys, values, 1);
	} else {
		/* PQreset reconnects with the same parameters; prepared statements are gone. */
		PQreset(db->conn);
	}
	if (db->conn == NULL) {
		db__set_error(db, "connect", "out of memory");
		return false;
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db__set_error(db, "connect", PQerrorMessage(db->conn));
		return false;
	}
	PQsetNoticeProcessor(db->conn, db__notice, NULL);
	db->ready = db__setup(db);
	return db->ready;
}

struct db *
db_open(const char *conninfo, bool prepare)
{
	struct db *db = calloc(1, sizeof *db);

	if (db == NULL || (db->conninfo = strdup(conninfo)) == NULL) {
		fputs("romtrack: out of memory\n", stderr);
		abort();
	}
	db->prepare = prepare;
	db_ensure(db);
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

PGconn *
db_conn(struct db *db)
{
	return db->conn;
}

const char *
db_error(struct db *db)
{
	return db->error[0] ? db->error : "no error";
}

bool
db_run(PGconn *conn, const char *sql, const char *const *params, int nparams, PGresult **out,
       const char *what, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	size_t n;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(res));
		n = strlen(err);
		while (n > 0 && err[n - 1] == '\n')
			err[--n] = '\0';
		PQclear(res);
		return false;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return true;
}

enum rt_err
db_sqlstate_err(const char *sqlstate)
{
	if (sqlstate == NULL)
		return RT_ERR_DB_UNAVAILABLE; /* no server answer at all: the connection broke */
	if (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "53", 2) == 0 ||
	    strncmp(sqlstate, "57", 2) == 0)
		return RT_ERR_DB_UNAVAILABLE; /* connection, resources, shutdown, timeouts */
	if (strncmp(sqlstate, "22", 2) == 0)
		return RT_ERR_INVALID_PARAMETER; /* data exception: a value the server rejects */
	return RT_ERR_INTERNAL;
}

/* Takes the notifications libpq has read so far, keeping the latest data version. Called
 * after every statement as well, so that they never pile up in libpq, whether or not
 * anyone asks for the version. */
static void
db__take_notifications(struct db *db)
{
	PGnotify *note;

	while ((note = PQnotifies(db->conn)) != NULL) {
		if (strcmp(note->relname, DB_DATA_VERSION_CHANNEL) == 0)
			snprintf(db->data_version, sizeof db->data_version, "%s", note->extra);
		PQfreemem(note);
	}
}

enum rt_err
db_exec(struct db *db, enum db_stmt stmt, const char *const *params, PGresult **res)
{
	*res = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r;
		enum rt_err err;

		if (!db_ensure(db)) {
			log_warn("database unavailable: %s", db->error);
			return RT_ERR_DB_UNAVAILABLE;
		}
		r = PQexecPrepared(db->conn, db_stmts[stmt].name, db_stmts[stmt].nparams, params, NULL,
				   NULL, 0);
		db__take_notifications(db);
		if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK) {
			*res = r;
			return RT_OK;
		}
		err = db_sqlstate_err(PQresultErrorField(r, PG_DIAG_SQLSTATE));
		db__set_error(db, db_stmts[stmt].name, PQresultErrorMessage(r));
		PQclear(r);
		if (PQstatus(db->conn) == CONNECTION_OK) {
			if (err == RT_ERR_INTERNAL)
				log_error("%s", db->error);
			return err;
		}
		log_warn("connection lost (%s), reconnecting", db->error);
		db->ready = false;
	}
	return RT_ERR_DB_UNAVAILABLE;
}

/*
 * A Sync message and its ReadyForQuery: the cheapest round trip the protocol has (no
 * statement, no transaction). PostgreSQL signals the listening backends while it commits,
 * before it acknowledges the commit, and a backend writes out the notifications it was
 * signalled for before its next ReadyForQuery. So once this returns, every change
 * committed before it was called has been heard of on this connection.
 */
static bool
db__sync(struct db *db)
{
	PGresult *res;
	bool synced = false;

	if (!PQenterPipelineMode(db->conn))
		return false;
	if (PQpipelineSync(db->conn)) {
		while (!synced && (res = PQgetResult(db->conn)) != NULL) {
			synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
			PQclear(res);
		}
	}
	return PQexitPipelineMode(db->conn) && synced;
}

const char *
db_data_version(struct db *db)
{
	if (!db_ensure(db))
		return NULL;
	if (!db__sync(db)) {
		db__set_error(db, "sync", PQerrorMessage(db->conn));
		log_warn("connection lost (%s), reconnecting", db->error);
		/* a fresh connection rather than PQreset: the pipeline may be left half-way */
		PQfinish(db->conn);
		db->conn = NULL;
		db->ready = false;
		return NULL;
	}
	db__take_notifications(db);
	if (db->data_version[0] == '\0') {
		PGresult *res;

		if (db_exec(db, DB_STMT_DATA_VERSION, NULL, &res) != RT_OK)
			return NULL;
		if (PQntuples(res) == 1)
			snprintf(db->data_version, sizeof db->data_version, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return db->data_version[0] != '\0' ? db->data_version : NULL;
}
