/* The master process of `romtrack serve`: binds the socket, pre-forks and supervises workers. */
#ifndef MASTER_H
#define MASTER_H

#include "config.h"

/* Runs the pool until SIGTERM/SIGINT. SIGHUP re-reads config_path and replaces
 * the workers; a worker that dies is restarted. cfg is owned by the master from
 * here on. Returns the process exit status. */
int master_run(const char *config_path, struct cfg *cfg);

/* Binds and listens on a unix socket path or HOST:PORT; returns the fd or -1
 * with a message in err. The socket is non-blocking (workers poll it). */
int master_listen(const struct cfg *cfg, char *err, size_t errlen);

#endif
