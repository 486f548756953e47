/* One worker of the pool: accepts FastCGI requests on the shared socket and answers them. */
#ifndef WORKER_H
#define WORKER_H

#include <stdbool.h>

#include "config.h"

/* The exit status of a worker that left by itself after max_requests or
 * max_rss_growth_mb, between two requests: the master replaces it without a brake. */
#define WORKER_EXIT_RECYCLE 75

/* Runs until SIGTERM or SIGINT, finishing the request in hand first. Expects
 * SIGTERM, SIGINT and SIGHUP blocked on entry (the master forks with them blocked).
 * Once the worker is ready (connected to the database, every statement prepared) it
 * writes its pid to ready_fd, when that is not -1, and closes it. With wait_for_database
 * it accepts no connection before it is ready; else it serves at once (503 while the
 * database is unreachable). Returns the process exit status: 0 when asked to stop,
 * WORKER_EXIT_RECYCLE, or 1 on an error. */
int worker_run(const struct cfg *cfg, int listen_fd, int index, int ready_fd, bool wait_for_database);

#endif
