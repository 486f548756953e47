/* The worker loop: wait for a connection with signals open, serve it with signals closed. */
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "arena.h"
#include "db.h"
#include "fcgi_adapter.h"
#include "log.h"

/* How often a worker that waits for its database tries again. */
#define WORKER__DB_RETRY_MS 500
/* The resident size is read every this many requests (a read of /proc/self/statm). */
#define WORKER__RSS_EVERY 16

static volatile sig_atomic_t worker__stop;

static void
worker__on_stop(int sig)
{
	(void)sig;
	worker__stop = 1;
}

/* Tells the master this worker is ready: its pid, in one write (atomic on a pipe). */
static void
worker__report_ready(int *ready_fd)
{
	pid_t pid = getpid();

	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, &pid, sizeof pid) != (ssize_t)sizeof pid)
		log_warn("cannot tell the master this worker is ready: %s", strerror(errno));
	close(*ready_fd);
	*ready_fd = -1;
	log_debug("ready");
}

/* Resident set size in bytes, 0 when unknown. */
static long
worker__rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

/* The request count after which this worker leaves: max_requests plus up to a tenth more,
 * at random, so that the workers of a pool started together do not all leave together. */
static long
worker__request_limit(const struct cfg *cfg)
{
	unsigned r = 0;

	if (cfg->max_requests == 0)
		return 0;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (unsigned)getpid();
	return cfg->max_requests + (long)(r % (unsigned long)(cfg->max_requests / 10 + 1));
}

/* Whether the database is connected with its statements prepared, without a new connection
 * attempt when it is not (db_open and each request make those). */
static bool
worker__db_ready(struct db *db)
{
	return db_conn(db) != NULL && PQstatus(db_conn(db)) == CONNECTION_OK && db_ensure(db);
}

/* Waits, with signals open, until the database is connected with its statements prepared
 * or a stop request comes; true when ready. */
static bool
worker__wait_for_database(struct db *db, const sigset_t *waitmask)
{
	if (worker__db_ready(db))
		return true;
	log_warn("not ready: database not reachable (%s); trying again every %d ms", db_error(db), WORKER__DB_RETRY_MS);
	while (!worker__stop) {
		struct timespec pause = {.tv_sec = 0, .tv_nsec = WORKER__DB_RETRY_MS * 1000000L};

		ppoll(NULL, 0, &pause, waitmask);
		if (!worker__stop && db_ensure(db))
			return true;
	}
	return false;
}

int
worker_run(const struct cfg *cfg, int listen_fd, int index, int ready_fd, bool wait_for_database)
{
	struct sigaction sa;
	sigset_t waitmask;
	struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
	struct fcgi_conn *conn = NULL;
	struct arena *arena = NULL;
	struct db *db;
	char role[32];
	pid_t master = getppid();
	long served = 0, limit, rss_start = 0;
	int status = 0;

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
	arena = arena_new();
	conn = fcgi_conn_new(listen_fd, cfg->request_timeout);
	if (conn == NULL || arena == NULL) {
		log_error("cannot set up a FastCGI request");
		status = 1;
		goto out;
	}
	/* Ready means connected with every statement prepared. A new generation (a reload)
	 * waits for that before it takes a connection, while the running one serves; other
	 * workers serve at once, 503 until the database answers (README, "serve"). */
	if (wait_for_database) {
		if (!worker__wait_for_database(db, &waitmask))
			goto out;
		worker__report_ready(&ready_fd);
	} else if (worker__db_ready(db)) {
		worker__report_ready(&ready_fd);
	} else {
		log_warn("database not reachable yet (%s); answering 503 until it is", db_error(db));
	}
	limit = worker__request_limit(cfg);
	if (cfg->max_rss_growth_mb > 0)
		rss_start = worker__rss();
	while (!worker__stop && getppid() == master) {
		struct http_request req;
		struct http_response res;
		int n = ppoll(&pfd, 1, NULL, &waitmask);
		sigset_t pending;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			status = 1;
			break;
		}
		/* Under load the socket is always readable and ppoll() returns without
		 * delivering a pending signal: look for a stop request before accepting. */
		if (sigpending(&pending) == 0 && (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT)))
			break;
		switch (fcgi_accept(conn, &req, arena)) {
		case FCGI_AGAIN: continue;
		case FCGI_FAILED:
			status = 1;
			worker__stop = 1;
			continue;
		case FCGI_ACCEPTED: break;
		}
		log_set_request(req.request_id); /* every line about this request names it */
		app_handle(db, &req, &res);
		fcgi_respond(conn, &req, &res);
		log_debug("%s %s %d", req.method, req.uri, res.status);
		log_set_request(NULL);
		arena_reset(arena);
		served++;
		if (ready_fd >= 0 && worker__db_ready(db))
			worker__report_ready(&ready_fd);
		/* Recycling: leave between requests; the master starts a replacement at once,
		 * and connections waiting in the backlog go to the other workers meanwhile. */
		if (limit > 0 && served >= limit) {
			log_info("leaving after %ld requests (max_requests); the master replaces this worker", served);
			status = WORKER_EXIT_RECYCLE;
			break;
		}
		if (rss_start > 0 && served % WORKER__RSS_EVERY == 0 &&
		    worker__rss() - rss_start > cfg->max_rss_growth_mb * 1024L * 1024L) {
			log_info("leaving after %ld requests: resident size grew by more than %ld MB "
				 "(max_rss_growth_mb); the master replaces this worker",
				 served, cfg->max_rss_growth_mb);
			status = WORKER_EXIT_RECYCLE;
			break;
		}
	}
	log_debug("stopping");
out:
	if (ready_fd >= 0)
		close(ready_fd);
	fcgi_conn_free(conn);
	arena_free(arena);
	db_close(db);
	app_cleanup();
	return status;
}
