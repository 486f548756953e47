/* API tokens: secrets (libsodium's random bytes, base64url, BLAKE2b) and the `romtrack token` commands. */
#include "token.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "params.h"

_Static_assert(TOKEN_SECRET_LEN == 46, "rt_ and 43 characters");
_Static_assert(TOKEN_HASH_BYTES >= crypto_generichash_BYTES_MIN && TOKEN_HASH_BYTES <= crypto_generichash_BYTES_MAX,
	       "a BLAKE2b output size");

#define TOKEN__B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define TOKEN__PREFIX_LEN (sizeof TOKEN_PREFIX - 1)

const char token_usage[] =
	"  token add NAME --scope SCOPE[,SCOPE...] [--expires YYYY-MM-DD]\n"
	"                        create an API token; prints its secret once (only a hash is kept);\n"
	"                        it expires at the start of that day (UTC), never without --expires\n"
	"  token list [--json]   the tokens: name, scopes, created, last used, expiry, revocation\n"
	"  token revoke NAME     revoke a token at once\n";

void
token_secret_new(char secret[TOKEN_SECRET_LEN + 1])
{
	unsigned char raw[TOKEN_RANDOM_BYTES];

	randombytes_buf(raw, sizeof raw);
	memcpy(secret, TOKEN_PREFIX, TOKEN__PREFIX_LEN);
	sodium_bin2base64(secret + TOKEN__PREFIX_LEN, TOKEN_SECRET_LEN + 1 - TOKEN__PREFIX_LEN, raw, sizeof raw,
			  TOKEN__B64);
	sodium_memzero(raw, sizeof raw);
}

bool
token_secret_well_formed(const char *s, size_t len)
{
	unsigned char raw[TOKEN_RANDOM_BYTES];
	size_t rawlen = 0;
	bool ok;

	if (len != TOKEN_SECRET_LEN || memcmp(s, TOKEN_PREFIX, TOKEN__PREFIX_LEN) != 0)
		return false;
	ok = sodium_base642bin(raw, sizeof raw, s + TOKEN__PREFIX_LEN, len - TOKEN__PREFIX_LEN, NULL, &rawlen, NULL,
			       TOKEN__B64) == 0 &&
	     rawlen == TOKEN_RANDOM_BYTES;
	sodium_memzero(raw, sizeof raw);
	return ok;
}

void
token_hash(const char *s, size_t len, unsigned char hash[TOKEN_HASH_BYTES])
{
	crypto_generichash(hash, TOKEN_HASH_BYTES, (const unsigned char *)s, (unsigned long long)len, NULL, 0);
}

bool
token_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TOKEN_NAME_MAX || name[0] == '.' || name[0] == '_' || name[0] == '-')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

bool
token_date_valid(const char *s)
{
	/* a real date (params.c's rule), and one a time_t counts from */
	return params_date_valid(s) && atoi(s) >= 1970;
}

static struct db *
token__connect(const char *conninfo)
{
	struct db *db = db_open(conninfo, false);

	if (!db_ensure(db)) {
		fprintf(stderr, "romtrack: cannot connect to the database: %s\n", db_error(db));
		db_close(db);
		return NULL;
	}
	return db;
}

/* The scopes sql/010 knows (api_token_scopes()), comma-separated, or NULL with a message. */
static char *
token__known_scopes(PGconn *conn)
{
	PGresult *res;
	char err[1024], *out;

	if (!db_run(conn, "SELECT array_to_string(api_token_scopes(), ',')", NULL, 0, &res, "token scopes", err,
		    sizeof err)) {
		fprintf(stderr, "romtrack: token: %s (is the database migrated? romtrack migrate)\n", err);
		return NULL;
	}
	out = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

/* Whether the comma-separated list has the item. */
static bool
token__listed(const char *list, const char *item, size_t len)
{
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");

		if (n == len && memcmp(p, item, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Checks the requested scopes (comma-separated, from one or more --scope) against the known ones and writes
 * them without repeats into out; 0, or the exit status with a message. */
static int
token__scopes(PGconn *conn, const char *requested, char *out, size_t outlen)
{
	char *known = token__known_scopes(conn);
	size_t used = 0;
	int status = 0;

	if (known == NULL)
		return 1;
	out[0] = '\0';
	for (const char *p = requested; *p != '\0' && status == 0;) {
		size_t n = strcspn(p, ",");

		if (n == 0 || !token__listed(known, p, n)) {
			fprintf(stderr, "romtrack: token add: unknown scope \"%.*s\" (known scopes: ", (int)n, p);
			for (const char *k = known; *k != '\0';) {
				size_t kn = strcspn(k, ",");

				fprintf(stderr, "%s%.*s", k == known ? "" : ", ", (int)kn, k);
				k += kn + (k[kn] == ',');
			}
			fputs(")\n", stderr);
			status = 1;
		} else if (!token__listed(out, p, n)) {
			if (used + n + 2 > outlen) {
				status = 2; /* cannot happen: every known scope fits, once each */
				break;
			}
			used += (size_t)snprintf(out + used, outlen - used, "%s%.*s", used ? "," : "", (int)n, p);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	free(known);
	return status;
}

static int
token__add(struct db *db, const char *name, const char *scopes_arg, const char *expires)
{
	PGconn *conn = db_conn(db);
	char scopes[1024], secret[TOKEN_SECRET_LEN + 1], hex[TOKEN_HASH_BYTES * 2 + 1], err[1024];
	unsigned char hash[TOKEN_HASH_BYTES];
	PGresult *res;
	int status = token__scopes(conn, scopes_arg, scopes, sizeof scopes);

	if (status != 0)
		return status;
	if (expires != NULL) {
		const char *p[] = {expires};
		bool future;

		if (!db_run(conn, "SELECT $1::date > (now() AT TIME ZONE 'UTC')::date", p, 1, &res, "token add", err,
			    sizeof err)) {
			fprintf(stderr, "romtrack: %s\n", err);
			return 1;
		}
		future = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (!future) {
			fprintf(stderr,
				"romtrack: token add: --expires %s is not in the future (a token expires at the "
				"start of that day, UTC)\n",
				expires);
			return 1;
		}
	}
	token_secret_new(secret);
	token_hash(secret, strlen(secret), hash);
	sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
	{
		/* the secret itself is never a parameter: only its hash reaches PostgreSQL (and its log) */
		const char *p[] = {name, hex, scopes, expires};

		if (!db_run(conn,
			    "INSERT INTO api_token (name, secret_hash, scopes, expires_at)"
			    " VALUES ($1, decode($2, 'hex'), string_to_array($3, ','),"
			    "         ($4::date)::timestamp AT TIME ZONE 'UTC')"
			    " ON CONFLICT (name) DO NOTHING RETURNING id",
			    p, 4, &res, "token add", err, sizeof err)) {
			fprintf(stderr, "romtrack: %s\n", err);
			sodium_memzero(secret, sizeof secret);
			return 1;
		}
	}
	if (PQntuples(res) == 0) {
		fprintf(stderr, "romtrack: token add: a token named \"%s\" exists already (romtrack token list)\n",
			name);
		status = 1;
	} else {
		puts(secret);
		fflush(stdout);
		fprintf(stderr,
			"romtrack: token \"%s\" added (scopes %s, %s%s); its secret, above, is shown this once only: "
			"send it as \"Authorization: Bearer <secret>\"\n",
			name, scopes, expires ? "expires " : "never expires", expires ? expires : "");
	}
	PQclear(res);
	sodium_memzero(secret, sizeof secret);
	return status;
}

/* The columns of `token list`: a header, and the SQL of each (NULL shows as "-"). */
static const struct {
	const char *title;
	const char *json;
	const char *sql;
} token__columns[] = {
#define TOKEN__TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	{"NAME", "name", "name"},
	{"SCOPES", "scopes", "array_to_string(scopes, ',')"},
	{"STATUS", "status",
	 "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= now() THEN 'expired' ELSE 'active' END"},
	{"CREATED", "created", TOKEN__TIME("created_at")},
	{"LAST USED", "last_used", TOKEN__TIME("last_used_at")},
	{"EXPIRES", "expires", TOKEN__TIME("expires_at")},
	{"REVOKED", "revoked", TOKEN__TIME("revoked_at")},
#undef TOKEN__TIME
};
#define TOKEN__NCOLUMNS (sizeof token__columns / sizeof token__columns[0])

static int
token__list(struct db *db, bool json)
{
	char sql[1024] = "SELECT ", err[1024];
	size_t widths[TOKEN__NCOLUMNS];
	PGresult *res;

	for (size_t c = 0; c < TOKEN__NCOLUMNS; c++) {
		strcat(sql, c ? ", " : "");
		strcat(sql, token__columns[c].sql);
	}
	strcat(sql, " FROM api_token ORDER BY name");
	if (!db_run(db_conn(db), sql, NULL, 0, &res, "token list", err, sizeof err)) {
		fprintf(stderr, "romtrack: %s\n", err);
		return 1;
	}
	if (json) {
		json_t *arr = json_array();

		for (int r = 0; r < PQntuples(res); r++) {
			json_t *o = json_object();

			for (size_t c = 0; c < TOKEN__NCOLUMNS; c++) {
				const char *v = PQgetisnull(res, r, (int)c) ? NULL : PQgetvalue(res, r, (int)c);
				json_t *j = v == NULL ? json_null() : json_string(v);

				if (c == 1) { /* scopes: a list */
					json_decref(j);
					j = json_array();
					for (const char *p = v; *p != '\0';) {
						size_t n = strcspn(p, ",");

						json_array_append_new(j, json_stringn(p, n));
						p += n + (p[n] == ',');
					}
				}
				json_object_set_new(o, token__columns[c].json, j);
			}
			json_array_append_new(arr, o);
		}
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
		PQclear(res);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	for (size_t c = 0; c < TOKEN__NCOLUMNS; c++) {
		widths[c] = strlen(token__columns[c].title);
		for (int r = 0; r < PQntuples(res); r++)
			if ((size_t)PQgetlength(res, r, (int)c) > widths[c])
				widths[c] = (size_t)PQgetlength(res, r, (int)c);
	}
	for (int r = -1; r < PQntuples(res); r++) {
		for (size_t c = 0; c < TOKEN__NCOLUMNS; c++) {
			const char *v = r < 0                         ? token__columns[c].title
					: PQgetisnull(res, r, (int)c) ? (c == 5 ? "never" : "-")
								      : PQgetvalue(res, r, (int)c);

			if (c + 1 < TOKEN__NCOLUMNS)
				printf("%-*s  ", (int)widths[c], v);
			else
				printf("%s\n", v);
		}
	}
	PQclear(res);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
token__revoke(struct db *db, const char *name)
{
	const char *p[] = {name};
	char err[1024];
	PGresult *res;
	int status = 0;

	/* the revocation time of a token revoked before stays as it was */
	if (!db_run(db_conn(db),
		    "WITH r AS (UPDATE api_token SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL"
		    "           RETURNING 1)"
		    " SELECT (SELECT count(*) FROM r),"
		    "        (SELECT to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
		    "         FROM api_token WHERE name = $1),"
		    "        EXISTS (SELECT 1 FROM api_token WHERE name = $1)",
		    p, 1, &res, "token revoke", err, sizeof err)) {
		fprintf(stderr, "romtrack: %s\n", err);
		return 1;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "1") == 0) {
		fprintf(stderr, "romtrack: token \"%s\" revoked\n", name);
	} else if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
		fprintf(stderr, "romtrack: token \"%s\" was revoked already (%s)\n", name, PQgetvalue(res, 0, 1));
	} else {
		fprintf(stderr, "romtrack: token revoke: no token named \"%s\" (romtrack token list)\n", name);
		status = 1;
	}
	PQclear(res);
	return status;
}

static int
token__usage(const char *why)
{
	fprintf(stderr, "romtrack: token: %s\nusage:\n%s", why, token_usage);
	return 2;
}

/* `token add` arguments: NAME, --scope (repeatable, joined by commas), --expires. */
static int
token__add_cli(const char *conninfo, int argc, char **argv)
{
	const char *name = NULL, *expires = NULL;
	char scopes[1024] = "";
	struct db *db;
	int status;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "--scope") == 0 || strcmp(a, "--expires") == 0) && i + 1 < argc) {
			const char *v = argv[++i];

			if (a[2] == 'e') {
				expires = v;
			} else if (strlen(scopes) + strlen(v) + 2 < sizeof scopes) {
				strcat(scopes, scopes[0] ? "," : "");
				strcat(scopes, v);
			} else {
				return token__usage("--scope: too long");
			}
		} else if (a[0] == '-') {
			fprintf(stderr, "romtrack: token add: unknown option or missing value: %s\n", a);
			return token__usage("see the usage");
		} else if (name == NULL) {
			name = a;
		} else {
			return token__usage("one NAME only");
		}
	}
	if (name == NULL)
		return token__usage("token add needs a NAME");
	if (!token_name_valid(name)) {
		fprintf(stderr,
			"romtrack: token add: NAME must be 1 to %d letters, digits, '.', '_' or '-', starting with a "
			"letter or a digit: \"%s\"\n",
			TOKEN_NAME_MAX, name);
		return 2;
	}
	if (scopes[0] == '\0')
		return token__usage("token add needs --scope");
	if (expires != NULL && !token_date_valid(expires)) {
		fprintf(stderr, "romtrack: token add: --expires must be a date YYYY-MM-DD: \"%s\"\n", expires);
		return 2;
	}
	db = token__connect(conninfo);
	if (db == NULL)
		return 1;
	status = token__add(db, name, scopes, expires);
	db_close(db);
	return status;
}

int
token_cli(const char *conninfo, int argc, char **argv)
{
	struct db *db;
	int status;

	if (argc < 1)
		return token__usage("add, list or revoke?");
	if (strcmp(argv[0], "add") == 0)
		return token__add_cli(conninfo, argc - 1, argv + 1);
	if (strcmp(argv[0], "list") == 0) {
		bool json = argc == 2 && strcmp(argv[1], "--json") == 0;

		if (argc > 2 || (argc == 2 && !json))
			return token__usage("token list takes only --json");
		if ((db = token__connect(conninfo)) == NULL)
			return 1;
		status = token__list(db, json);
		db_close(db);
		return status;
	}
	if (strcmp(argv[0], "revoke") == 0) {
		if (argc != 2 || argv[1][0] == '-')
			return token__usage("token revoke takes one NAME");
		if ((db = token__connect(conninfo)) == NULL)
			return 1;
		status = token__revoke(db, argv[1]);
		db_close(db);
		return status;
	}
	fprintf(stderr, "romtrack: token: unknown subcommand \"%s\"\n", argv[0]);
	return token__usage("add, list or revoke?");
}
