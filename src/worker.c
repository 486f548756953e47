/* The worker loop: wait for a connection with signals open, serve it with signals closed. */
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "app.h"
#include "arena.h"
#include "db.h"
#include "fcgi_adapter.h"
#include "log.h"

static volatile sig_atomic_t worker__stop;

static void
worker__on_stop(int sig)
{
	(void)sig;
	worker__stop = 1;
}

int
worker_run(const struct cfg *cfg, int listen_fd, int index, int ready_fd)
{
	struct sigaction sa;
	sigset_t waitmask;
	struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
	struct fcgi_conn *conn;
	struct arena *arena;
	struct db *db;
	char role[32];
	pid_t master = getppid();

	snprintf(role, sizeof role, "worker %d", index);
	log_set_role(role);
	/* Die with the master, whatever killed it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = worker__on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	/* Signals are only delivered inside ppoll(): a request in progress is never
	 * interrupted, and a stop request is seen before the next accept. */
	sigemptyset(&waitmask);

	app_init(cfg);
	db = db_open(cfg->database, true);
	if (!db_ensure(db))
		log_warn("database not reachable yet (%s); answering 503 until it is", db_error(db));
	arena = arena_new();
	conn = fcgi_conn_new(listen_fd);
	if (conn == NULL) {
		log_error("cannot set up a FastCGI request");
		arena_free(arena);
		db_close(db);
		return 1;
	}
	log_debug("ready");
	if (ready_fd >= 0) {
		if (write(ready_fd, "r", 1) != 1)
			log_warn("cannot tell the master this worker is ready: %s", strerror(errno));
		close(ready_fd);
	}
	while (!worker__stop && getppid() == master) {
		struct http_request req;
		struct http_response res;
		int n = ppoll(&pfd, 1, NULL, &waitmask);
		sigset_t pending;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		/* Under load the socket is always readable and ppoll() returns without
		 * delivering a pending signal: look for a stop request before accepting. */
		if (sigpending(&pending) == 0 && (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT)))
			break;
		switch (fcgi_accept(conn, &req, arena)) {
		case FCGI_AGAIN:
			continue;
		case FCGI_FAILED:
			worker__stop = 1;
			continue;
		case FCGI_ACCEPTED:
			break;
		}
		app_handle(db, &req, &res);
		fcgi_respond(conn, &req, &res);
		log_debug("%s %s %d", req.method, req.uri, res.status);
		arena_reset(arena);
	}
	log_debug("stopping");
	fcgi_conn_free(conn);
	arena_free(arena);
	db_close(db);
	app_cleanup();
	return 0;
}
