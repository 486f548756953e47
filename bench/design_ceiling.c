/* The design ceiling of the benchmark: the least a FastCGI worker over PostgreSQL can do for
 * a device's releases page. One prepared statement returns the page's rows with romtrack's
 * own columns (db_release_columns), without romtrack's optional filters, and the rows are
 * written out as text: no routing, no validation, no JSON, no cache. Pre-forks as many
 * workers as romtrack does.
 *   design_ceiling SOCKET CONNINFO WORKERS CODENAME LIMIT */
#include <fcgiapp.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "queries.h"

static int
serve(int listen_fd, const char *conninfo, const char *codename, const char *limit)
{
	const char *params[2] = {codename, limit};
	PGconn *conn = PQconnectdb(conninfo);
	FCGX_Request req;
	char sql[4096];

	snprintf(sql, sizeof sql,
		 "SELECT %s FROM (SELECT * FROM release r"
		 " WHERE r.device_id = (SELECT id FROM device WHERE codename = $1::text)"
		 " ORDER BY r.sort_date DESC, r.version_sort DESC, r.id DESC LIMIT $2::int) r"
		 " JOIN device d ON d.id = r.device_id JOIN variant v ON v.id = r.variant_id"
		 " ORDER BY r.sort_date DESC, r.version_sort DESC, r.id DESC",
		 db_release_columns);
	if (PQstatus(conn) != CONNECTION_OK || PQresultStatus(PQprepare(conn, "q", sql, 2, NULL)) != PGRES_COMMAND_OK) {
		fprintf(stderr, "design_ceiling: %s", PQerrorMessage(conn));
		return 1;
	}
	FCGX_InitRequest(&req, listen_fd, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		PGresult *res = PQexecPrepared(conn, "q", 2, params, NULL, NULL, 0);

		FCGX_PutS("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n", req.out);
		for (int r = 0; r < PQntuples(res); r++)
			for (int c = 0; c < PQnfields(res); c++) {
				FCGX_PutS(PQgetvalue(res, r, c), req.out);
				FCGX_PutS(c + 1 < PQnfields(res) ? "\t" : "\n", req.out);
			}
		PQclear(res);
		FCGX_Finish_r(&req);
	}
	PQfinish(conn);
	return 0;
}

int
main(int argc, char **argv)
{
	int fd, workers;

	if (argc != 6) {
		fputs("usage: design_ceiling SOCKET CONNINFO WORKERS CODENAME LIMIT\n", stderr);
		return 2;
	}
	FCGX_Init();
	fd = FCGX_OpenSocket(argv[1], 128);
	workers = atoi(argv[3]);
	if (fd < 0 || workers < 1)
		return 1;
	for (int i = 0; i < workers; i++)
		if (fork() == 0)
			return serve(fd, argv[2], argv[4], argv[5]);
	signal(SIGTERM, SIG_IGN);
	while (wait(NULL) > 0)
		;
	return 0;
}
