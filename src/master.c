/* Pre-forking, restarting dead workers, graceful reload (SIGHUP) and stop (SIGTERM). */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cursor.h"
#include "fcgi_adapter.h"
#include "log.h"
#include "worker.h"

#define MASTER__MAX_WORKERS 512 /* two generations of 256 during a reload */

struct master__worker {
	pid_t pid;
	int index;
	unsigned generation;
	time_t started;
	time_t kill_at; /* when stopping: SIGKILL after this time */
	bool stopping;
};

struct master {
	struct cfg cfg;
	int listen_fd;
	unsigned generation;
	long nworkers; /* wanted per generation */
	struct master__worker workers[MASTER__MAX_WORKERS];
	int ready_fd; /* during a reload: where new workers say they are ready, else -1 */
	size_t count;
	time_t respawn_after; /* crash-loop brake */
	bool shutting_down;
};

static bool
master__is_unix(const char *listen)
{
	return strchr(listen, '/') != NULL || strchr(listen, ':') == NULL;
}

/* mkdir -p of the directory that will hold the socket. */
static void
master__mkdir_parent(const char *path)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
}

static int
master__listen_unix(const struct cfg *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(cfg->listen) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "socket path too long: %s", cfg->listen);
		return -1;
	}
	strcpy(sun.sun_path, cfg->listen);
	master__mkdir_parent(cfg->listen);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* A socket file nobody answers on is left over from a crash: replace it. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
		snprintf(err, errlen, "%s: another server is already listening there", cfg->listen);
		close(fd);
		return -1;
	}
	close(fd);
	if (lstat(cfg->listen, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket; refusing to replace it", cfg->listen);
			return -1;
		}
		unlink(cfg->listen);
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    chmod(cfg->listen, cfg->socket_mode) < 0 || listen(fd, (int)cfg->backlog) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "%s: %s", cfg->listen, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
master__listen_tcp(const struct cfg *cfg, char *err, size_t errlen)
{
	const char *colon = strrchr(cfg->listen, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	char host[256];
	int fd = -1, one = 1, rc;

	snprintf(host, sizeof host, "%.*s", (int)(colon - cfg->listen), cfg->listen);
	rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", cfg->listen, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, (int)cfg->backlog) < 0) {
		snprintf(err, errlen, "%s: %s", cfg->listen, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
master_listen(const struct cfg *cfg, char *err, size_t errlen)
{
	int fd = master__is_unix(cfg->listen) ? master__listen_unix(cfg, err, errlen)
					      : master__listen_tcp(cfg, err, errlen);

	struct timeval timeout = {.tv_sec = cfg->request_timeout};

	/* Non-blocking: when two workers wake for one connection, the loser gets EAGAIN.
	 * Accepted connections inherit the timeouts: a peer that stalls mid-request
	 * frees its worker after request_timeout instead of holding it for ever. */
	if (fd >= 0 && (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0 ||
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0)) {
		snprintf(err, errlen, "%s: %s", cfg->listen, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static long
master__wanted(const struct cfg *cfg)
{
	long n = cfg->workers;

	/* Two per CPU: a worker spends part of each request waiting for PostgreSQL (the
	 * freshness round trip, or a query), and the other one keeps the CPU busy meanwhile
	 * (README, "Performance": 1, 2 and 4 per core measured). */
	if (n == 0)
		n = 2 * sysconf(_SC_NPROCESSORS_ONLN);
	/* the configuration allows 256; so does a machine with more CPUs */
	return n < 1 ? 1 : n > 256 ? 256 : n;
}

static void
master__spawn(struct master *m, int index)
{
	struct master__worker *w;
	pid_t pid;

	if (m->count == MASTER__MAX_WORKERS)
		return;
	/* Nothing buffered may be written twice, by the master and by the child. */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return;
	}
	/* exit(), not _exit(): the sanitizers' leak check runs in every worker too. */
	if (pid == 0)
		exit(worker_run(&m->cfg, m->listen_fd, index, m->ready_fd));
	w = &m->workers[m->count++];
	*w = (struct master__worker){.pid = pid, .index = index, .generation = m->generation,
				     .started = time(NULL)};
	log_debug("started worker %d (pid %ld, generation %u)", index, (long)pid, m->generation);
}

/* Starts the workers the current generation lacks. */
static void
master__fill(struct master *m)
{
	bool present[257] = {false};

	if (m->shutting_down || time(NULL) < m->respawn_after)
		return;
	for (size_t i = 0; i < m->count; i++)
		if (m->workers[i].generation == m->generation && !m->workers[i].stopping)
			present[m->workers[i].index] = true;
	for (int i = 1; i <= m->nworkers; i++)
		if (!present[i])
			master__spawn(m, i);
}

static void
master__stop_worker(struct master *m, struct master__worker *w)
{
	if (w->stopping)
		return;
	w->stopping = true;
	w->kill_at = time(NULL) + m->cfg.shutdown_timeout;
	kill(w->pid, SIGTERM);
}

static void
master__reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < m->count; i++) {
			struct master__worker *w = &m->workers[i];

			if (w->pid != pid)
				continue;
			if (!w->stopping) {
				if (WIFSIGNALED(status))
					log_warn("worker %d (pid %ld) killed by signal %d; restarting it",
						 w->index, (long)pid, WTERMSIG(status));
				else
					log_warn("worker %d (pid %ld) exited with status %d; restarting it",
						 w->index, (long)pid, WEXITSTATUS(status));
				/* A worker that dies at once would otherwise be forked in a tight loop. */
				if (time(NULL) - w->started < 1)
					m->respawn_after = time(NULL) + 1;
			} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				log_warn("worker %d (pid %ld) ended abnormally while stopping (status %d)",
					 w->index, (long)pid, status);
			}
			m->workers[i] = m->workers[--m->count];
			break;
		}
	}
}

/* Starts the new generation and waits (bounded) until its workers can serve. */
static void
master__start_generation(struct master *m)
{
	int fds[2];
	long ready = 0;
	struct timespec start, now;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		log_warn("pipe: %s; not waiting for the new workers", strerror(errno));
		master__fill(m);
		return;
	}
	m->ready_fd = fds[1];
	master__fill(m);
	m->ready_fd = -1;
	close(fds[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (ready < m->nworkers) {
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		char buf[64];
		ssize_t n;
		long waited;

		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= m->cfg.shutdown_timeout * 1000L || poll(&pfd, 1, (int)(m->cfg.shutdown_timeout * 1000L - waited)) <= 0)
			break;
		n = read(fds[0], buf, sizeof buf);
		if (n <= 0)
			break; /* every new worker closed its end: some died before they were ready */
		ready += n;
	}
	close(fds[0]);
	if (ready < m->nworkers)
		log_warn("only %ld of %ld new workers reported ready", ready, m->nworkers);
}

static void
master__reload(struct master *m, const char *config_path)
{
	struct cfg fresh;
	char err[512];

	if (!cfg_load(&fresh, config_path, err, sizeof err)) {
		log_error("reload refused, keeping the running configuration: %s", err);
		return;
	}
	if (strcmp(fresh.listen, m->cfg.listen) != 0)
		log_warn("listen changed to %s: it takes effect after a restart, not a reload", fresh.listen);
	if (fresh.cursor_secret[0] != '\0')
		cursor_set_secret(fresh.cursor_secret);
	free(fresh.listen);
	fresh.listen = strdup(m->cfg.listen);
	cfg_free(&m->cfg);
	m->cfg = fresh;
	log_set_level(m->cfg.log_level);
	m->nworkers = master__wanted(&m->cfg);
	m->generation++;
	m->respawn_after = 0;
	/* New workers first, then the old ones finish what they hold and leave:
	 * the shared socket always has someone accepting. */
	master__start_generation(m);
	for (size_t i = 0; i < m->count; i++)
		if (m->workers[i].generation != m->generation)
			master__stop_worker(m, &m->workers[i]);
	log_info("configuration reloaded: %ld workers, generation %u", m->nworkers, m->generation);
}

static void
master__init_cursor_key(const struct cfg *cfg)
{
	unsigned char key[CURSOR_KEY_SIZE];

	if (cfg->cursor_secret[0] != '\0') {
		cursor_set_secret(cfg->cursor_secret);
		return;
	}
	if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
		/* Never fatal: cursors stay verifiable, only guessable. */
		log_warn("getrandom failed; cursor key derived from time and pid");
		snprintf((char *)key, sizeof key, "%lx%lx", (long)time(NULL), (long)getpid());
	}
	cursor_set_key(key);
}

int
master_run(const char *config_path, struct cfg *cfg)
{
	static struct master m; /* large; static keeps it off the stack */
	sigset_t set;
	char err[512];
	int exit_status = 0;

	log_set_role("master");
	m.cfg = *cfg;
	memset(cfg, 0, sizeof *cfg);
	log_set_level(m.cfg.log_level);
	m.listen_fd = master_listen(&m.cfg, err, sizeof err);
	if (m.listen_fd < 0) {
		log_error("cannot listen: %s", err);
		cfg_free(&m.cfg);
		return 1;
	}
	if (!fcgi_library_init()) {
		log_error("cannot initialise libfcgi");
		cfg_free(&m.cfg);
		return 1;
	}
	master__init_cursor_key(&m.cfg);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	m.ready_fd = -1;
	m.generation = 1;
	m.nworkers = master__wanted(&m.cfg);
	master__fill(&m);
	log_info("listening on %s with %ld workers", m.cfg.listen, m.nworkers);

	for (;;) {
		struct timespec tick = {.tv_sec = 1};
		int sig = sigtimedwait(&set, NULL, &tick);
		time_t now;

		if (sig == SIGHUP && !m.shutting_down) {
			log_info("SIGHUP: reloading %s", config_path);
			master__reload(&m, config_path);
		} else if ((sig == SIGTERM || sig == SIGINT) && !m.shutting_down) {
			log_info("%s: stopping after in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			m.shutting_down = true;
			for (size_t i = 0; i < m.count; i++)
				master__stop_worker(&m, &m.workers[i]);
		}
		master__reap(&m);
		now = time(NULL);
		for (size_t i = 0; i < m.count; i++) {
			if (m.workers[i].stopping && now >= m.workers[i].kill_at) {
				log_warn("worker %d (pid %ld) did not stop in %lds; killing it",
					 m.workers[i].index, (long)m.workers[i].pid, m.cfg.shutdown_timeout);
				kill(m.workers[i].pid, SIGKILL);
				m.workers[i].kill_at = now + 3600;
			}
		}
		if (m.shutting_down && m.count == 0)
			break;
		master__fill(&m);
	}
	close(m.listen_fd);
	if (master__is_unix(m.cfg.listen))
		unlink(m.cfg.listen);
	log_info("stopped");
	cfg_free(&m.cfg);
	return exit_status;
}
