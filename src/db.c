/* Connection handling, statement preparation, deadlines, reconnect backoff and SQLSTATE mapping. */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

#define DB__BACKOFF_FIRST_MS 100
#define DB__REPORT_INTERVAL_MS 10000 /* a failing database is logged once per interval */

_Static_assert(DB_RETRY_MAX_MS % 1000 == 0, "Retry-After is a whole number of seconds");

struct db {
	PGconn *conn;
	char *conninfo;
	bool prepare;
	bool ready;                  /* connected, and prepared when asked to */
	char data_version[128];      /* the latest one known on this connection; "" until asked */
	unsigned long notifications; /* received so far, on any channel (db_notifications) */
	unsigned long connections;   /* made so far (db_connections) */
	/* What the versions heard of since db_take_changes last ran may have changed (sql/012): "" nothing,
	 * "*" anything, else device codenames separated by commas; and the copy that call hands out. */
	char changes[DB_CHANGES_MAX], changes_taken[DB_CHANGES_MAX];
	char error[512];
	bool timed_out; /* the last round trip ran out of time (rather than failing) */
	/* Reconnect backoff: after the n-th failure in a row, no attempt before next_attempt_ms. */
	unsigned failures;
	int64_t next_attempt_ms;
	/* The report of an outage: its first failure is logged, then one line per interval. */
	bool down;
	int64_t down_since_ms, reported_ms;
	unsigned failed_total, failed_since_report, refused_since_report;
	/* The statement db_send sent, whose answer db_sent_result takes, and when it was sent. */
	enum db_stmt sent_stmt;
	int64_t sent_at;
};

static int db__timeout_ms = DB_TIMEOUT_DEFAULT_S * 1000;

void
db_set_timeout(long seconds)
{
	db__timeout_ms = (int)(seconds >= 1 && seconds <= 300 ? seconds : DB_TIMEOUT_DEFAULT_S) * 1000;
}

static int64_t
db__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A jitter source of its own, seeded per process so that workers do not retry in step. */
static uint32_t
db__random(void)
{
	static uint32_t state;
	struct timespec ts;

	if (state == 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = (uint32_t)getpid() * 2654435761u ^ (uint32_t)ts.tv_nsec;
		if (state == 0)
			state = 1;
	}
	state ^= state << 13; /* xorshift32 */
	state ^= state >> 17;
	state ^= state << 5;
	return state;
}

/* "what: message" on one line: libpq's messages run over several, and a log line must not. */
static void
db__set_error(struct db *db, const char *what, const char *msg)
{
	size_t n = 0;

	if (msg == NULL || msg[0] == '\0')
		msg = "unknown error";
	snprintf(db->error, sizeof db->error, "%s: %s", what, msg);
	for (const char *p = db->error; *p != '\0'; p++) {
		char c = *p == '\n' || *p == '\t' ? ' ' : *p;

		if (c != ' ' || (n > 0 && db->error[n - 1] != ' '))
			db->error[n++] = c;
	}
	while (n > 0 && db->error[n - 1] == ' ')
		n--;
	db->error[n] = '\0';
}

/* Forgets the connection: after a timeout its late answer must never be read as the next one. */
static void
db__drop(struct db *db)
{
	PQfinish(db->conn);
	db->conn = NULL;
	db->ready = false;
}

/* Logs a summary line when the interval has passed since the last one. */
static void
db__report(struct db *db, int64_t now)
{
	if (!db->prepare || now - db->reported_ms < DB__REPORT_INTERVAL_MS ||
	    db->failed_since_report + db->refused_since_report == 0)
		return;
	log_warn("database still unavailable: %s (%u connection attempts failed, %u requests answered 503 "
		 "while waiting to retry, in the last %lld s)",
		 db->error, db->failed_since_report, db->refused_since_report,
		 (long long)((now - db->reported_ms + 500) / 1000));
	db->failed_since_report = db->refused_since_report = 0;
	db->reported_ms = now;
}

/* A failed attempt (db->error says why): schedules the next one, exponentially later with
 * jitter, and logs the first failure of an outage. */
static void
db__failed(struct db *db)
{
	int64_t now = db__now_ms();
	int64_t delay = DB__BACKOFF_FIRST_MS;

	db__drop(db);
	for (unsigned i = 0; i < db->failures && delay < DB_RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > DB_RETRY_MAX_MS)
		delay = DB_RETRY_MAX_MS;
	db->failures++;
	metrics_db_error(NULL); /* a connection attempt that failed */
	/* "equal jitter": between half the delay and all of it */
	db->next_attempt_ms = now + delay / 2 + (int64_t)(db__random() % (uint32_t)(delay / 2 + 1));
	db->failed_total++;
	if (!db->down) {
		db->down = true;
		db->down_since_ms = db->reported_ms = now;
		db->failed_since_report = db->refused_since_report = 0;
		if (db->prepare) /* the CLI says it itself, once */
			log_warn("database unavailable: %s (retrying with backoff, at most %d s apart)", db->error,
				 DB_RETRY_MAX_MS / 1000);
		return;
	}
	db->failed_since_report++;
	db__report(db, now);
}

/* A connection is up and set up: ends the outage, if there was one. */
static void
db__succeeded(struct db *db)
{
	if (db->down && db->prepare)
		log_info("database reachable again after %u failed connection attempts in %lld s", db->failed_total,
			 (long long)((db__now_ms() - db->down_since_ms + 500) / 1000));
	db->down = false;
	db->failures = 0;
	db->failed_total = 0;
}

/* Waits until libpq's socket is readable (or writable) or the deadline passes. False on a
 * timeout, with db->error saying so, or on a broken socket. */
static bool
db__wait(struct db *db, bool for_write, int64_t deadline, const char *what)
{
	struct pollfd pfd = {.fd = PQsocket(db->conn), .events = for_write ? POLLOUT : POLLIN};

	if (pfd.fd < 0) {
		db__set_error(db, what, "no connection");
		return false;
	}
	for (;;) {
		int64_t left = deadline - db__now_ms();
		int n;

		if (left <= 0) {
			char msg[64];

			snprintf(msg, sizeof msg, "no answer within %d ms", db__timeout_ms);
			db__set_error(db, what, msg);
			db->timed_out = true;
			return false;
		}
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR) {
			db__set_error(db, what, strerror(errno));
			return false;
		}
	}
}

/* Sends what libpq has buffered, within the deadline. */
static bool
db__flush(struct db *db, int64_t deadline, const char *what)
{
	int r;

	while ((r = PQflush(db->conn)) == 1) {
		if (!db__wait(db, true, deadline, what))
			return false;
	}
	if (r < 0) {
		db__set_error(db, what, PQerrorMessage(db->conn));
		return false;
	}
	return true;
}

/* Waits, within the deadline, until PQgetResult can return without blocking. */
static bool
db__await(struct db *db, int64_t deadline, const char *what)
{
	while (PQisBusy(db->conn)) {
		if (!db__wait(db, false, deadline, what))
			return false;
		if (!PQconsumeInput(db->conn)) {
			db__set_error(db, what, PQerrorMessage(db->conn));
			return false;
		}
	}
	return true;
}

/*
 * Finishes a command sent with one of libpq's PQsend* calls: flushes it and collects its
 * results within one timeout. Returns the last result (the caller PQclear()s it), or NULL on a
 * timeout or a broken connection, with db->error set; the caller then drops the connection.
 */
static PGresult *
db__finish_command(struct db *db, const char *what)
{
	int64_t deadline = db__now_ms() + db__timeout_ms;
	PGresult *last = NULL, *r;

	if (!db__flush(db, deadline, what))
		return NULL;
	for (;;) {
		if (!db__await(db, deadline, what)) {
			PQclear(last);
			return NULL;
		}
		if ((r = PQgetResult(db->conn)) == NULL)
			break;
		PQclear(last);
		last = r;
	}
	if (last == NULL)
		db__set_error(db, what, PQerrorMessage(db->conn));
	return last;
}

/* One statement of fixed text without parameters, during set-up; true when it succeeded. */
static bool
db__setup_command(struct db *db, const char *sql, const char *what)
{
	PGresult *res;
	ExecStatusType st;

	if (!PQsendQueryParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 0)) {
		db__set_error(db, what, PQerrorMessage(db->conn));
		return false;
	}
	if ((res = db__finish_command(db, what)) == NULL)
		return false;
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		db__set_error(db, what, PQresultErrorMessage(res));
	PQclear(res);
	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

/* The statement table with its arguments numbered (db_stmt_number), once per process. */
#define DB__MAX_ARGS 16
static struct {
	char *sql;
	size_t offsets[DB__MAX_ARGS];
	int nargs;
} db__stmts[DB_STMT__MAX];

static void
db__number_statements(void)
{
	char err[256];

	if (db__stmts[0].sql != NULL)
		return;
	for (int i = 0; i < DB_STMT__MAX; i++) {
		if (!db_stmt_number(db_stmts[i].sql, &db__stmts[i].sql, db__stmts[i].offsets, &db__stmts[i].nargs,
				    DB__MAX_ARGS, err, sizeof err)) {
			/* the table is wrong: a bug that unit.queries catches before it gets here */
			log_error("statement %s: %s", db_stmts[i].name, err);
			abort();
		}
	}
}

/* Session settings and statements, after each (re)connect. */
static bool
db__setup(struct db *db)
{
	if (!db__setup_command(db, "SELECT set_config('datestyle', 'ISO, YMD', false)", "session setup"))
		return false;
	if (!db->prepare)
		return true;
	/* Fixed text: LISTEN takes no parameters. */
	if (!db__setup_command(db, "LISTEN " DB_DATA_VERSION_CHANNEL, "listen") ||
	    !db__setup_command(db, "LISTEN " DB_DELIVER_CHANNEL, "listen"))
		return false;
	db__number_statements();
	for (int i = 0; i < DB_STMT__MAX; i++) {
		PGresult *res;
		bool ok;

		if (!PQsendPrepare(db->conn, db_stmts[i].name, db__stmts[i].sql, db__stmts[i].nargs, NULL)) {
			db__set_error(db, db_stmts[i].name, PQerrorMessage(db->conn));
			return false;
		}
		if ((res = db__finish_command(db, db_stmts[i].name)) == NULL)
			return false;
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok) {
			db__set_error(db, db_stmts[i].name, PQresultErrorMessage(res));
			log_error("cannot prepare statement %s: %s", db_stmts[i].name, db->error);
		}
		PQclear(res);
		if (!ok)
			return false;
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

/* Opens a new connection within one timeout; false with db->error set. */
static bool
db__connect(struct db *db)
{
	int64_t deadline = db__now_ms() + db__timeout_ms;
	char statement_timeout[64], keepalive_idle[16], keepalive_interval[16], user_timeout[16];
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int timeout_s = db__timeout_ms / 1000;

	/* A slow statement is cancelled by the server before the client's deadline, so that it
	 * gets an error and the connection is kept; the deadline is for a server that does not
	 * answer at all. The CLI's statements (an import's COPY) get no server limit. */
	snprintf(statement_timeout, sizeof statement_timeout, "-c statement_timeout=%d", db__timeout_ms * 4 / 5);
	/* Keepalives notice a vanished peer on an idle connection, tcp_user_timeout one that stops
	 * acknowledging what is sent; both only for TCP connections (libpq ignores them otherwise). */
	snprintf(keepalive_idle, sizeof keepalive_idle, "%d", timeout_s);
	snprintf(keepalive_interval, sizeof keepalive_interval, "%d", timeout_s / 3 > 0 ? timeout_s / 3 : 1);
	snprintf(user_timeout, sizeof user_timeout, "%d", db__timeout_ms);
	{
		/* Defaults first, the configured conninfo after them: it may override them all. */
		const char *const keys[] = {"keepalives",
					    "keepalives_idle",
					    "keepalives_interval",
					    "keepalives_count",
					    "tcp_user_timeout",
					    "options",
					    "dbname",
					    NULL};
		const char *const values[] = {"1",
					      keepalive_idle,
					      keepalive_interval,
					      "3",
					      db->prepare ? user_timeout : "0",
					      db->prepare ? statement_timeout : "",
					      db->conninfo,
					      NULL};

		db->conn = PQconnectStartParams(keys, values, 1);
	}
	if (db->conn == NULL) {
		db__set_error(db, "connect", "out of memory");
		return false;
	}
	/* libpq's connect_timeout applies to its blocking connect only: poll with our deadline. */
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED || PQstatus(db->conn) == CONNECTION_BAD) {
			db__set_error(db, "connect", PQerrorMessage(db->conn));
			return false;
		}
		if (!db__wait(db, st == PGRES_POLLING_WRITING, deadline, "connect"))
			return false;
		st = PQconnectPoll(db->conn);
	}
	PQsetNoticeProcessor(db->conn, db__notice, NULL);
	if (db->prepare && PQsetnonblocking(db->conn, 1) != 0) {
		db__set_error(db, "connect", PQerrorMessage(db->conn));
		return false;
	}
	return true;
}

/* db_ensure; *waiting tells whether it returned false without an attempt (backing off). */
static bool
db__ensure(struct db *db, bool *waiting)
{
	*waiting = false;
	if (db->ready && PQstatus(db->conn) == CONNECTION_OK)
		return true;
	if (db->conn != NULL)
		db__drop(db);       /* a connection that broke: a fresh one, prepared statements are gone */
	db->data_version[0] = '\0'; /* notifications sent while away are lost: ask again */
	snprintf(db->changes, sizeof db->changes, "*");
	if (db->failures > 0 && db__now_ms() < db->next_attempt_ms) {
		*waiting = true; /* db->error keeps the last cause */
		return false;
	}
	if (!db__connect(db) || !db__setup(db)) {
		db__failed(db);
		return false;
	}
	db->ready = true;
	if (db->connections++ > 0)
		metrics_db_reconnect();
	db__succeeded(db);
	return true;
}

bool
db_ensure(struct db *db)
{
	bool waiting;

	return db__ensure(db, &waiting);
}

bool
db_ready(const struct db *db)
{
	return db->ready && PQstatus(db->conn) == CONNECTION_OK;
}

long
db_retry_in_ms(const struct db *db)
{
	int64_t left;

	if (db_ready(db) || db->failures == 0)
		return 0;
	left = db->next_attempt_ms - db__now_ms();
	return left > 0 ? (long)left : 0;
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
db_disconnect(struct db *db)
{
	log_warn("dropping the database connection (%s)", db->error[0] ? db->error : "asked to");
	db__drop(db);
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
db_run(PGconn *conn, const char *sql, const char *const *params, int nparams, PGresult **out, const char *what,
       char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(res));
		size_t n = strlen(err);
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
	if (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "53", 2) == 0 || strncmp(sqlstate, "57", 2) == 0)
		return RT_ERR_DB_UNAVAILABLE; /* connection, resources, shutdown, timeouts */
	if (strncmp(sqlstate, "22", 2) == 0)
		return RT_ERR_INVALID_PARAMETER; /* data exception: a value the server rejects */
	return RT_ERR_INTERNAL;
}

/* Adds the scope of one version (sql/012: "*" or codenames separated by commas) to what changed. A list that
 * would not fit becomes "*": dropping more cached answers than needed is always safe. */
static void
db__add_changes(struct db *db, const char *scope)
{
	size_t used = strlen(db->changes), add = strlen(scope);

	if (strcmp(db->changes, "*") == 0)
		return;
	if (scope[0] == '\0' || strcmp(scope, "*") == 0 || used + 1 + add >= sizeof db->changes) {
		snprintf(db->changes, sizeof db->changes, "*");
		return;
	}
	snprintf(db->changes + used, sizeof db->changes - used, "%s%s", used ? "," : "", scope);
}

/* Takes the notifications libpq has read so far ("token:version scope"), keeping the latest data version and
 * adding up what they changed. Called after every statement as well, so that they never pile up in libpq,
 * whether or not anyone asks for the version. */
static void
db__take_notifications(struct db *db)
{
	PGnotify *note;
	while ((note = PQnotifies(db->conn)) != NULL) {
		db->notifications++;
		if (strcmp(note->relname, DB_DATA_VERSION_CHANNEL) == 0) {
			const char *space = strchr(note->extra, ' ');
			size_t len = space != NULL ? (size_t)(space - note->extra) : strlen(note->extra);

			/* a payload without a scope (older migrations) may have changed anything */
			db__add_changes(db, space != NULL ? space + 1 : "*");
			snprintf(db->data_version, sizeof db->data_version, "%.*s", (int)len, note->extra);
		}
		PQfreemem(note);
	}
}

unsigned long
db_connections(const struct db *db)
{
	return db->connections;
}

unsigned long
db_notifications(const struct db *db)
{
	return db->notifications;
}

const char *
db_take_changes(struct db *db)
{
	memcpy(db->changes_taken, db->changes, sizeof db->changes_taken);
	db->changes[0] = '\0';
	return db->changes_taken;
}

/* A round trip that did not complete (db->error says why). A timeout counts as a failed
 * attempt, so that the next requests do not wait for the same silent server; a connection
 * that broke is replaced at once. Returns whether it was a timeout. */
static bool
db__lost(struct db *db)
{
	if (db->timed_out) {
		db__failed(db); /* counted there */
		return true;
	}
	metrics_db_error(NULL); /* no SQLSTATE: the connection broke */
	log_warn("connection lost (%s), reconnecting", db->error);
	db__drop(db);
	return false;
}

/* The statement's parameters, in the order of its numbered arguments, taken from args by name. */
static void
db__params(enum db_stmt stmt, const struct db_args *args, const char **params)
{
	db__number_statements();
	for (int i = 0; i < db__stmts[stmt].nargs; i++)
		params[i] = *(const char *const *)(const void *)((const char *)args + db__stmts[stmt].offsets[i]);
}

/* A statement's failed result, read: its error counted (by SQLSTATE class) and kept as db->error; the error a client
 * sees. The caller still owns r. */
static enum rt_err
db__result_error(struct db *db, const char *name, const PGresult *r)
{
	metrics_db_error(PQresultErrorField(r, PG_DIAG_SQLSTATE));
	db__set_error(db, name, PQresultErrorMessage(r));
	return db_sqlstate_err(PQresultErrorField(r, PG_DIAG_SQLSTATE));
}

enum rt_err
db_exec(struct db *db, enum db_stmt stmt, const struct db_args *args, PGresult **res)
{
	const char *name = db_stmts[stmt].name;
	const char *params[DB__MAX_ARGS];
	static const struct db_args no_args; /* args == NULL: every argument is SQL NULL, never args + offset */

	db__params(stmt, args != NULL ? args : &no_args, params);
	*res = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r = NULL;
		enum rt_err err;
		bool waiting;

		if (!db__ensure(db, &waiting)) {
			if (waiting) { /* the request is answered 503 without an attempt */
				db->refused_since_report++;
				db__report(db, db__now_ms());
			}
			return RT_ERR_DB_UNAVAILABLE;
		}
		db->timed_out = false;
		metrics_db_round_trip();
		if (PQsendQueryPrepared(db->conn, name, db__stmts[stmt].nargs, params, NULL, NULL, 0))
			r = db__finish_command(db, name);
		else
			db__set_error(db, name, PQerrorMessage(db->conn));
		if (r == NULL) {
			if (db__lost(db))
				return RT_ERR_DB_UNAVAILABLE;
			continue;
		}
		db__take_notifications(db);
		if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK) {
			*res = r;
			return RT_OK;
		}
		err = db__result_error(db, name, r);
		PQclear(r);
		if (PQstatus(db->conn) == CONNECTION_OK) {
			if (err == RT_ERR_INTERNAL)
				log_error("%s", db->error);
			return err;
		}
		db__lost(db);
	}
	return RT_ERR_DB_UNAVAILABLE;
}

enum rt_err
db_exec_rows(struct db *db, enum db_stmt stmt, const struct db_args *args, db_row_fn row_fn, void *data)
{
	const char *name = db_stmts[stmt].name;
	const char *params[DB__MAX_ARGS];
	static const struct db_args no_args;
	enum rt_err err = RT_OK;
	bool wanted = true;

	db__params(stmt, args != NULL ? args : &no_args, params);
	if (!db_ensure(db))
		return RT_ERR_DB_UNAVAILABLE;
	db->timed_out = false;
	metrics_db_round_trip();
	/* a CLI connection has nothing prepared (and no statement timeout): the statement's text, its arguments
	 * passed apart */
	if (!(db->prepare ? PQsendQueryPrepared(db->conn, name, db__stmts[stmt].nargs, params, NULL, NULL, 0)
			  : PQsendQueryParams(db->conn, db__stmts[stmt].sql, db__stmts[stmt].nargs, NULL, params, NULL,
					      NULL, 0)) ||
	    !PQsetSingleRowMode(db->conn)) {
		db__set_error(db, name, PQerrorMessage(db->conn));
		db__lost(db);
		return RT_ERR_DB_UNAVAILABLE;
	}
	if (!db__flush(db, db__now_ms() + db__timeout_ms, name)) {
		db__lost(db);
		return RT_ERR_DB_UNAVAILABLE;
	}
	for (;;) {
		PGresult *r;

		if (!db__await(db, db__now_ms() + db__timeout_ms, name)) {
			db__lost(db);
			return RT_ERR_DB_UNAVAILABLE;
		}
		if ((r = PQgetResult(db->conn)) == NULL)
			break;
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
			wanted = wanted && err == RT_OK && row_fn(data, r);
		} else if (PQresultStatus(r) != PGRES_TUPLES_OK && err == RT_OK) {
			err = db__result_error(db, name, r);
		}
		PQclear(r);
	}
	if (err != RT_OK && PQstatus(db->conn) != CONNECTION_OK) {
		db__lost(db);
		return RT_ERR_DB_UNAVAILABLE;
	}
	db__take_notifications(db);
	return err;
}

bool
db_send(struct db *db, enum db_stmt stmt, const struct db_args *args)
{
	const char *params[DB__MAX_ARGS];

	db__params(stmt, args, params);
	/* never on a new connection: what the caller holds (advisory locks) belongs to the one it has */
	if (!db_ready(db))
		return false;
	db->timed_out = false;
	metrics_db_round_trip();
	db->sent_stmt = stmt;
	db->sent_at = db__now_ms();
	if (PQsendQueryPrepared(db->conn, db_stmts[stmt].name, db__stmts[stmt].nargs, params, NULL, NULL, 0) &&
	    db__flush(db, db->sent_at + db__timeout_ms, db_stmts[stmt].name))
		return true;
	if (db->error[0] == '\0')
		db__set_error(db, db_stmts[stmt].name, PQerrorMessage(db->conn));
	db__lost(db);
	return false;
}

int
db_sent_result(struct db *db, enum rt_err *err, PGresult **res)
{
	const char *name = db_stmts[db->sent_stmt].name;
	PGresult *last = NULL, *r;

	*res = NULL;
	*err = RT_ERR_DB_UNAVAILABLE;
	if (!PQconsumeInput(db->conn)) {
		db__set_error(db, name, PQerrorMessage(db->conn));
		db__lost(db);
		return 1;
	}
	if (PQisBusy(db->conn)) {
		if (db__now_ms() - db->sent_at < db__timeout_ms)
			return 0;
		db__set_error(db, name, "no answer within the timeout");
		db->timed_out = true;
		db__lost(db);
		db__drop(db); /* the statement may still be running: its answer must not be read as another's */
		return 1;
	}
	/* the whole answer has been read: PQgetResult no longer blocks */
	while ((r = PQgetResult(db->conn)) != NULL) {
		PQclear(last);
		last = r;
	}
	db__take_notifications(db);
	if (last == NULL) {
		db__set_error(db, name, PQerrorMessage(db->conn));
		db__lost(db);
		return 1;
	}
	if (PQresultStatus(last) == PGRES_TUPLES_OK || PQresultStatus(last) == PGRES_COMMAND_OK) {
		*err = RT_OK;
		*res = last;
		return 1;
	}
	*err = db__result_error(db, name, last);
	PQclear(last);
	if (PQstatus(db->conn) != CONNECTION_OK)
		db__lost(db);
	else if (*err == RT_ERR_INTERNAL)
		log_error("%s", db->error);
	return 1;
}

/*
 * A Sync message and its ReadyForQuery: the cheapest round trip the protocol has (no
 * statement, no transaction). PostgreSQL signals the listening backends while it commits,
 * before it acknowledges the commit, and a backend writes out the notifications it was
 * signalled for before its next ReadyForQuery. So once this returns, every change
 * committed before it was called has been heard of on this connection. Bounded by the
 * timeout like every other round trip.
 */
static bool
db__sync(struct db *db)
{
	int64_t deadline = db__now_ms() + db__timeout_ms;
	PGresult *res;
	bool synced;

	db->timed_out = false;
	metrics_db_round_trip();
	if (!PQenterPipelineMode(db->conn) || !PQpipelineSync(db->conn)) {
		db__set_error(db, "sync", PQerrorMessage(db->conn));
		return false;
	}
	if (!db__flush(db, deadline, "sync"))
		return false;
	if (!db__await(db, deadline, "sync"))
		return false;
	if ((res = PQgetResult(db->conn)) == NULL) {
		db__set_error(db, "sync", PQerrorMessage(db->conn));
		return false;
	}
	/* Nothing but the Sync was sent: anything else is the server's error, e.g. "terminating
	 * connection due to administrator command" (the caller drops the connection). */
	synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
	if (!synced)
		db__set_error(db, "sync", PQresultErrorMessage(res));
	PQclear(res);
	if (!synced)
		return false;
	if (!PQexitPipelineMode(db->conn)) {
		db__set_error(db, "sync", PQerrorMessage(db->conn));
		return false;
	}
	return true;
}

const char *
db_data_version(struct db *db)
{
	if (!db_ensure(db))
		return NULL;
	if (!db__sync(db)) {
		/* a fresh connection either way: the pipeline may be left half-way */
		db__lost(db);
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
