/* One worker of the pool: accepts FastCGI requests on the shared socket and answers them. */
#ifndef WORKER_H
#define WORKER_H

#include "config.h"

/* Runs until SIGTERM or SIGINT, finishing the request in hand first. Expects
 * SIGTERM, SIGINT and SIGHUP blocked on entry (the master forks with them blocked).
 * When ready_fd is not -1, one byte is written to it once the worker can serve.
 * Returns the process exit status. */
int worker_run(const struct cfg *cfg, int listen_fd, int index, int ready_fd);

#endif
