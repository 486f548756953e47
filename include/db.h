/* The database layer: one connection per process, every statement prepared at connect. */
#ifndef DB_H
#define DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "queries.h"
#include "rt_error.h"

struct db;

#define DB_TIMEOUT_DEFAULT_S 5 /* the database_timeout setting's default */
/* The longest a connection waits between two reconnect attempts (the backoff's ceiling),
 * and so the Retry-After of a 503: by then every worker has tried again. */
#define DB_RETRY_MAX_MS 2000

/* Sets, for the connections this process opens from now on, the longest wait on PostgreSQL
 * of any one step: connecting, a statement, a Sync. On an API connection the server cancels a
 * statement after four fifths of it. Default DB_TIMEOUT_DEFAULT_S. */
void db_set_timeout(long seconds);

/* Makes one attempt, bounded by the timeout, to connect and, when prepare is true, to
 * prepare every statement of the table (the API's connections, which also get a statement
 * timeout, TCP keepalives and tcp_user_timeout, and LISTEN for new data versions; the CLI's
 * get none of these but the keepalives).
 * Never returns NULL: a failed connection is retried by a later db_ensure (db_exec). */
struct db *db_open(const char *conninfo, bool prepare);
void db_close(struct db *db);
/* Drops the connection (the next statement makes a new one): what the session held goes with it. */
void db_disconnect(struct db *db);
/* Whether the connection is up (connected, statements prepared). When it is not, makes one
 * bounded attempt, unless the backoff since the last failure has not yet passed: the n-th
 * failure in a row delays the next attempt by 50-100% of min(100 ms * 2^(n-1), DB_RETRY_MAX_MS);
 * meanwhile it returns false at once. The first failure of an outage is logged, then one
 * line per 10 s with the number of failed attempts, and a line when it is over. */
bool db_ensure(struct db *db);
/* Whether the connection is up, without any attempt. */
bool db_ready(const struct db *db);
/* Milliseconds until db_ensure makes its next attempt; 0 when it would make one now. */
long db_retry_in_ms(const struct db *db);
PGconn *db_conn(struct db *db);
/* Last connection or server error, for logs and CLI messages. */
const char *db_error(struct db *db);

/* Runs a prepared statement with its named arguments (NULL = SQL NULL; args may be NULL for a
 * statement without any). On success
 * *res holds the tuples (the caller PQclear()s it). A lost connection is
 * re-established and the statement retried once (every API statement is read-only).
 * A server silent for the timeout gives RT_ERR_DB_UNAVAILABLE at once: the connection is
 * dropped (its late answer is never read) and counts as a failed attempt. */
enum rt_err db_exec(struct db *db, enum db_stmt stmt, const struct db_args *args, PGresult **res);

/* Runs a statement of the table as db_exec does, handing its rows to row_fn one by one as they arrive (libpq's
 * single-row mode: memory holds one row, whatever the size of the result), each as row 0 of a result that is freed
 * after the call. Once row_fn returns false it is not called again; the remaining rows are read and dropped. The
 * timeout bounds the wait for each row, not the whole statement. Never retried: rows already handed out cannot be
 * taken back. On a connection opened without prepare (the CLI's `romtrack export`: no statement timeout, which
 * would cancel a long export to a slow reader), the statement's text is sent with its arguments apart. */
typedef bool (*db_row_fn)(void *data, const PGresult *row);
enum rt_err db_exec_rows(struct db *db, enum db_stmt stmt, const struct db_args *args, db_row_fn row_fn, void *data);

/* A prepared statement sent without waiting for its answer, for a process that has other work meanwhile
 * (`romtrack deliver`): db_send sends it on the connection there is (false when it could not: no connection, or
 * it broke, then dropped; it never connects);
 * db_sent_result, called when the connection's socket is readable or at any time after, returns 0 while the
 * answer is not all in, else 1 with *err (RT_OK and *res, which the caller PQclear()s, or the error). An answer
 * that takes longer than the timeout drops the connection. Nothing else may use the connection in between. */
bool db_send(struct db *db, enum db_stmt stmt, const struct db_args *args);
int db_sent_result(struct db *db, enum rt_err *err, PGresult **res);

/* Runs one statement of fixed SQL text with its parameters passed apart (the CLI's
 * migrate and import use it). On failure returns false with "what: server message"
 * in err. When out is not NULL it receives the result, which the caller PQclear()s. */
bool db_run(PGconn *conn, const char *sql, const char *const *params, int nparams, PGresult **out, const char *what,
	    char *err, size_t errlen);

/* The version of the data this connection has last heard of (an API connection): the
 * payload of the latest notification on DB_DATA_VERSION_CHANNEL, read after one Sync round
 * trip (bounded by the timeout), or, after each (re)connect, DB_STMT_DATA_VERSION. Valid
 * until the next call. NULL when the database cannot be reached.
 * A change is heard of once PostgreSQL has delivered its notification, which it sends at
 * commit; a request that arrives in between is answered as of the version before. */
const char *db_data_version(struct db *db);

/* The longest list of changed devices db_take_changes hands out; more is "*". */
#define DB_CHANGES_MAX 4096

/* What the data versions heard of since the last call may have changed: "" nothing, "*" anything (also after
 * each (re)connect, when notifications may have been missed), else the codenames of the devices whose releases
 * changed, separated by commas (sql/012_scoped_versions.sql). Call it right after db_data_version, which reads
 * the notifications; valid until the next call. */
const char *db_take_changes(struct db *db);

/* How many notifications this connection has received, on any channel (DB_DATA_VERSION_CHANNEL,
 * DB_DELIVER_CHANNEL): every statement and db_data_version read those that arrived meanwhile, so a process that
 * sleeps on the connection's socket compares this count before it sleeps. */
unsigned long db_notifications(const struct db *db);

/* How many connections this handle has made (each reconnect counts): what a session holds (advisory locks)
 * holds only while this count stays the same. db_exec may reconnect and run its statement again. */
unsigned long db_connections(const struct db *db);

/* Maps a SQLSTATE to the error a client sees. */
enum rt_err db_sqlstate_err(const char *sqlstate);

#endif
