/* The database layer: one connection per process, every statement prepared at connect. */
#ifndef DB_H
#define DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "queries.h"
#include "rt_error.h"

struct db;

/* Connects and prepares every statement of the table when prepare is true (the API's
 * connections, which also get a 10 s statement timeout and LISTEN for new data versions;
 * the CLI's get none of these).
 * Never returns NULL: a failed connection is retried by the next db_exec. */
struct db *db_open(const char *conninfo, bool prepare);
void db_close(struct db *db);
/* Whether the connection is up; tries to reconnect when it is not. */
bool db_ensure(struct db *db);
PGconn *db_conn(struct db *db);
/* Last connection or server error, for logs and CLI messages. */
const char *db_error(struct db *db);

/* Runs a prepared statement with text parameters (NULL = SQL NULL). On success
 * *res holds the tuples (the caller PQclear()s it). A lost connection is
 * re-established and the statement retried once (every API statement is read-only). */
enum rt_err db_exec(struct db *db, enum db_stmt stmt, const char *const *params, PGresult **res);

/* Runs one statement of fixed SQL text with its parameters passed apart (the CLI's
 * migrate and import use it). On failure returns false with "what: server message"
 * in err. When out is not NULL it receives the result, which the caller PQclear()s. */
bool db_run(PGconn *conn, const char *sql, const char *const *params, int nparams, PGresult **out,
	    const char *what, char *err, size_t errlen);

/* The version of the data this connection has last heard of (an API connection): the
 * payload of the latest notification on DB_DATA_VERSION_CHANNEL, read without a round trip,
 * or, after each (re)connect, DB_STMT_DATA_VERSION. Valid until the next call. NULL when the
 * database cannot be reached.
 * A change is heard of once PostgreSQL has delivered its notification, which it sends at
 * commit; a request that arrives in between is answered as of the version before. */
const char *db_data_version(struct db *db);

/* Maps a SQLSTATE to the error a client sees. */
enum rt_err db_sqlstate_err(const char *sqlstate);

#endif
