/* Pre-forking, restarting dead workers, graceful reload (SIGHUP) and stop (SIGTERM). */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cursor.h"
#include "deliver.h"
#include "fcgi_adapter.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

#define MASTER__MAX_WORKERS 512 /* two generations of 256 during a reload */

struct master__worker {
	pid_t pid;
	int index;
	unsigned generation;
	time_t kill_at; /* when stopping: SIGKILL after this time */
	bool ready;     /* it said so: connected to the database, statements prepared */
	bool stopping;
};

struct master {
	struct cfg cfg;
	int listen_fd;
	unsigned generation;      /* the one that serves */
	unsigned last_generation; /* the newest started, maybe abandoned */
	long nworkers;            /* wanted per generation */
	struct master__worker workers[MASTER__MAX_WORKERS];
	int ready_rd, ready_wr; /* a pipe on which each worker writes its pid once ready */
	/* SIGCHLD, SIGTERM and SIGINT, as a file a reload's wait polls with the pipe (a SIGHUP
	 * meanwhile stays pending: the main loop takes it once the reload is over) */
	int reload_sigfd;
	unsigned reload_generation;                /* the one a reload waits for; 0 outside a reload */
	long reload_lost;                          /* its workers that died before they were ready */
	int stop_signal;                           /* SIGTERM or SIGINT taken during a reload's wait */
	unsigned char cursor_key[CURSOR_KEY_SIZE]; /* random, for when no cursor_secret is set */
	size_t count;
	time_t respawn_after; /* crash-loop brake */
	bool shutting_down;
	/* `romtrack deliver` as a child (deliver: 1); after a reload the one of the old configuration stops while
	 * the new one starts (two at once are safe: each subscription is delivered by one at a time) */
	pid_t deliver_pid, old_deliver_pid;
	time_t deliver_started, deliver_restart_after, old_deliver_kill_at;
};

static bool
master__is_unix(const char *listen)
{
	return strchr(listen, '/') != NULL || strchr(listen, ':') == NULL;
}

/* Closes the listening socket (when fd >= 0) and removes its file: a stop, or a start that
 * failed after the bind, leaves nothing behind. */
static void
master__close_listener(const struct cfg *cfg, int fd)
{
	if (fd >= 0)
		close(fd);
	if (master__is_unix(cfg->listen))
		unlink(cfg->listen);
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

/* The group socket_group names (a name or a number); (gid_t)-1 when it is empty. */
static bool
master__socket_gid(const struct cfg *cfg, gid_t *gid, char *err, size_t errlen)
{
	struct group grp, *found = NULL;
	char buf[4096], *end;
	unsigned long n;

	*gid = (gid_t)-1;
	if (cfg->socket_group[0] == '\0')
		return true;
	if (getgrnam_r(cfg->socket_group, &grp, buf, sizeof buf, &found) == 0 && found != NULL) {
		*gid = found->gr_gid;
		return true;
	}
	errno = 0;
	n = strtoul(cfg->socket_group, &end, 10);
	if (*end == '\0' && errno == 0 && n < (unsigned long)(gid_t)-1) {
		*gid = (gid_t)n;
		return true;
	}
	snprintf(err, errlen, "socket_group: no group \"%s\"", cfg->socket_group);
	return false;
}

static int
master__listen_unix(const struct cfg *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	gid_t gid;
	mode_t umask_before;
	bool bound = false;
	int fd;

	if (strlen(cfg->listen) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "socket path too long: %s", cfg->listen);
		return -1;
	}
	if (!master__socket_gid(cfg, &gid, err, errlen))
		return -1;
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
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* Created with no permission at all, then given its group, then its mode: the
	 * socket is never more open than configured, not even between bind and chmod. */
	umask_before = umask(0777);
	bound = bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	umask(umask_before);
	if (!bound)
		goto fail;
	if (gid != (gid_t)-1 && lchown(cfg->listen, (uid_t)-1, gid) < 0) {
		snprintf(err, errlen,
			 "%s: cannot give the socket to group %s (socket_group; romtrack must be "
			 "root or a member of it): %s",
			 cfg->listen, cfg->socket_group, strerror(errno));
		goto fail_quiet;
	}
	if (chmod(cfg->listen, cfg->socket_mode) < 0 || listen(fd, (int)cfg->backlog) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "%s: %s", cfg->listen, strerror(errno));
fail_quiet:
	if (bound)
		master__close_listener(cfg, fd);
	else if (fd >= 0)
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

	/* Non-blocking: when two workers wake for one connection, the loser gets EAGAIN.
	 * (Each accepted connection gets its own timeouts: fcgi_adapter.c.) */
	if (fd >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "%s: %s", cfg->listen, strerror(errno));
		master__close_listener(cfg, fd);
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

/* Forks worker index of generation, running cfg; wait_for_database: it takes no connection
 * before it is ready (a reload's new generation). */
static void
master__spawn(struct master *m, const struct cfg *cfg, unsigned generation, int index, bool wait_for_database)
{
	struct master__worker *w;
	pid_t pid;

	if (m->count == MASTER__MAX_WORKERS) {
		/* master__reload keeps this from happening: a reload that would not fit is refused */
		log_error("cannot start worker %d of generation %u: the master already supervises %d workers", index,
			  generation, MASTER__MAX_WORKERS);
		return;
	}
	/* Nothing buffered may be written twice, by the master and by the child. */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return;
	}
	/* exit(), not _exit(): the sanitizers' leak check runs in every worker too. */
	if (pid == 0) {
		close(m->ready_rd);
		close(m->reload_sigfd);
		metrics_attach(metrics_worker_slot(index, generation));
		exit(worker_run(cfg, m->listen_fd, index, m->ready_wr, wait_for_database));
	}
	w = &m->workers[m->count++];
	*w = (struct master__worker){.pid = pid, .index = index, .generation = generation};
	log_debug("started worker %d (pid %ld, generation %u)", index, (long)pid, generation);
}

/* Starts the deliverer when the configuration wants one and none runs. */
static void
master__spawn_deliver(struct master *m)
{
	sigset_t none;
	pid_t pid;

	if (!m->cfg.deliver || m->shutting_down || m->deliver_pid > 0 || time(NULL) < m->deliver_restart_after)
		return;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(m->ready_rd);
		close(m->ready_wr);
		close(m->reload_sigfd);
		close(m->listen_fd);              /* not master__close_listener: the socket file is the master's */
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* as the workers: it does not outlive a killed master */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* the master's are blocked; deliver_run takes its own */
		signal(SIGHUP, SIG_IGN);               /* a reload is the master's: it replaces this process */
		metrics_attach(METRICS_SLOT_DELIVER);
		log_set_role("deliver");
		exit(deliver_run(&m->cfg));
	}
	m->deliver_pid = pid;
	m->deliver_started = time(NULL);
	log_info("started the deliverer (pid %ld)", (long)pid);
}

/* Asks the running deliverer to stop (it finishes what it has in flight within deliver_timeout). */
static void
master__stop_deliver(struct master *m)
{
	if (m->deliver_pid <= 0)
		return;
	/* one slot for a stopping deliverer: one still stopping from the reload before goes at once */
	if (m->old_deliver_pid > 0)
		kill(m->old_deliver_pid, SIGKILL);
	kill(m->deliver_pid, SIGTERM);
	m->old_deliver_pid = m->deliver_pid;
	m->old_deliver_kill_at = time(NULL) + m->cfg.deliver_timeout + m->cfg.shutdown_timeout;
	m->deliver_pid = 0;
}

/* Starts the workers that generation (nworkers of cfg) lacks. */
static void
master__fill_generation(struct master *m, const struct cfg *cfg, unsigned generation, long nworkers,
			bool wait_for_database)
{
	bool present[257] = {false};

	if (m->shutting_down || time(NULL) < m->respawn_after)
		return;
	for (size_t i = 0; i < m->count; i++)
		if (m->workers[i].generation == generation && !m->workers[i].stopping)
			present[m->workers[i].index] = true;
	for (int i = 1; i <= nworkers; i++)
		if (!present[i])
			master__spawn(m, cfg, generation, i, wait_for_database);
}

/* Starts the workers the serving generation lacks. */
static void
master__fill(struct master *m)
{
	master__fill_generation(m, &m->cfg, m->generation, m->nworkers, false);
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

/* SIGKILLs the stopping workers that outlived shutdown_timeout. */
static void
master__kill_overdue(struct master *m)
{
	time_t now = time(NULL);

	if (m->old_deliver_pid > 0 && now >= m->old_deliver_kill_at) {
		log_warn("the deliverer (pid %ld) did not stop in time; killing it", (long)m->old_deliver_pid);
		kill(m->old_deliver_pid, SIGKILL);
		m->old_deliver_kill_at = now + 3600;
	}

	for (size_t i = 0; i < m->count; i++) {
		if (m->workers[i].stopping && now >= m->workers[i].kill_at) {
			log_warn("worker %d (pid %ld) did not stop in %lds; killing it", m->workers[i].index,
				 (long)m->workers[i].pid, m->cfg.shutdown_timeout);
			kill(m->workers[i].pid, SIGKILL);
			metrics_restart(METRICS_RESTART_KILLED);
			m->workers[i].kill_at = now + 3600;
		}
	}
}

/* Reads the pids of workers that became ready. */
static void
master__read_ready(struct master *m)
{
	pid_t pids[64];
	ssize_t n;

	while ((n = read(m->ready_rd, pids, sizeof pids)) > 0) {
		for (size_t k = 0; k < (size_t)n / sizeof pids[0]; k++)
			for (size_t i = 0; i < m->count; i++)
				if (m->workers[i].pid == pids[k])
					m->workers[i].ready = true;
	}
}

/* "exited with status N" or "killed by signal N", for the log. */
static const char *
master__how_it_ended(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	return buf;
}

static void
master__reap(struct master *m)
{
	char how[64];
	int status;
	pid_t pid;

	master__read_ready(m); /* first: a worker that said it was ready and then died was ready */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->old_deliver_pid) {
			m->old_deliver_pid = 0;
			continue;
		}
		if (pid == m->deliver_pid) {
			m->deliver_pid = 0;
			if (m->shutting_down)
				continue;
			log_warn("the deliverer (pid %ld) %s; restarting it", (long)pid,
				 master__how_it_ended(status, how, sizeof how));
			/* one that cannot start (a wrong database) is not forked in a tight loop */
			if (time(NULL) - m->deliver_started < 5)
				m->deliver_restart_after = time(NULL) + 5;
			continue;
		}
		for (size_t i = 0; i < m->count; i++) {
			struct master__worker *w = &m->workers[i];

			if (w->pid != pid)
				continue;
			if (!w->stopping && WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_RECYCLE) {
				log_info("worker %d (pid %ld) recycled itself; replacing it", w->index, (long)pid);
				metrics_restart(METRICS_RESTART_RECYCLED);
			} else if (!w->stopping && !w->ready && w->generation == m->reload_generation) {
				/* not replaced: the reload is abandoned (master__start_generation) */
				log_warn("new worker %d (pid %ld) %s before it was ready", w->index, (long)pid,
					 master__how_it_ended(status, how, sizeof how));
				m->reload_lost++;
			} else if (!w->stopping) {
				log_warn("worker %d (pid %ld) %s; restarting it", w->index, (long)pid,
					 master__how_it_ended(status, how, sizeof how));
				metrics_restart(METRICS_RESTART_CRASHED);
				/* One that dies before it is ready would otherwise be forked in a tight
				 * loop; one that died in a request is replaced at once. */
				if (!w->ready) {
					log_warn("worker %d died before it was ready: its replacement starts in 1 s",
						 w->index);
					m->respawn_after = time(NULL) + 1;
				}
			} else if (!WIFEXITED(status) || /* recycled as it was asked to stop: left all the same */
				   (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != WORKER_EXIT_RECYCLE)) {
				log_warn("worker %d (pid %ld) ended abnormally while stopping (status %d)", w->index,
					 (long)pid, status);
			}
			m->workers[i] = m->workers[--m->count];
			break;
		}
	}
}

enum master__reload_wait {
	MASTER__RELOAD_READY,   /* every new worker is ready */
	MASTER__RELOAD_TIMEOUT, /* shutdown_timeout passed first */
	MASTER__RELOAD_LOST,    /* a new worker died before it was ready: it cannot get ready */
	MASTER__RELOAD_STOP,    /* SIGTERM or SIGINT came (m->stop_signal) */
};

/* Takes the signals of the reload's wait: SIGCHLD (reaped by the caller) and a stop request. */
static void
master__take_reload_signals(struct master *m)
{
	struct signalfd_siginfo si;

	while (read(m->reload_sigfd, &si, sizeof si) == (ssize_t)sizeof si)
		if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && m->stop_signal == 0)
			m->stop_signal = (int)si.ssi_signo;
}

/* Starts the new generation and waits (bounded by shutdown_timeout) until every one of its
 * workers is ready; *ready: how many are. Meanwhile the pool is supervised as usual: dead
 * workers are reaped, the running generation (running, running_generation) is kept whole,
 * overdue ones are killed. */
static enum master__reload_wait
master__start_generation(struct master *m, const struct cfg *running, unsigned running_generation, long *ready)
{
	long running_workers = master__wanted(running);
	struct timespec start, now;

	m->reload_generation = m->generation;
	m->reload_lost = 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd[2] = {{.fd = m->ready_rd, .events = POLLIN},
					{.fd = m->reload_sigfd, .events = POLLIN}};
		long waited, left;

		master__take_reload_signals(m);
		master__reap(m);
		if (m->stop_signal != 0)
			return MASTER__RELOAD_STOP;
		if (m->reload_lost > 0)
			return MASTER__RELOAD_LOST;
		master__kill_overdue(m);
		master__fill_generation(m, running, running_generation, running_workers, false);
		/* a new worker that was ready and then left (recycled, say) is replaced */
		master__fill_generation(m, &m->cfg, m->generation, m->nworkers, true);
		*ready = 0;
		for (size_t i = 0; i < m->count; i++)
			if (m->workers[i].generation == m->generation && !m->workers[i].stopping && m->workers[i].ready)
				(*ready)++;
		if (*ready >= m->nworkers)
			return MASTER__RELOAD_READY;
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		left = m->cfg.shutdown_timeout * 1000L - waited;
		if (left <= 0)
			return MASTER__RELOAD_TIMEOUT;
		/* at most a second: overdue workers and the restart brake are looked at each tick */
		poll(pfd, 2, (int)(left < 1000 ? left : 1000));
	}
}

/* Signs cursors with the configured secret, else with the random key of this master. */
static void
master__apply_cursor_key(const struct master *m)
{
	if (m->cfg.cursor_secret[0] != '\0')
		cursor_set_secret(m->cfg.cursor_secret);
	else
		cursor_set_key(m->cursor_key);
}

/* A key a reload cannot apply (config.c's key table says which). */
static void
master__kept_until_restart(const char *key, const char *running_value, const char *fresh_value)
{
	log_warn("%s changed to %s: it needs a restart, %s stays in effect until then", key, fresh_value,
		 running_value);
}

static void
master__reload(struct master *m, const char *config_path)
{
	struct cfg fresh, running;
	unsigned running_generation = m->generation;
	enum master__reload_wait outcome;
	char err[512];
	long ready = 0, wanted, stopping = 0;

	if (!cfg_load(&fresh, config_path, err, sizeof err)) {
		log_error("reload refused, keeping the running configuration: %s", err);
		return;
	}
	wanted = master__wanted(&fresh);
	for (size_t i = 0; i < m->count; i++)
		if (m->workers[i].generation != m->generation || m->workers[i].stopping)
			stopping++;
	/* During the reload the master supervises the stopping workers (an earlier reload's),
	 * the running generation and the new one. */
	if (stopping + m->nworkers + wanted > MASTER__MAX_WORKERS) {
		log_error("reload refused, keeping the running configuration: %ld workers of an earlier generation "
			  "are still stopping, and with the %ld running and %ld new ones the master would supervise "
			  "more than %d; send SIGHUP again once they have left (within shutdown_timeout, %lds)",
			  stopping, m->nworkers, wanted, MASTER__MAX_WORKERS, m->cfg.shutdown_timeout);
		cfg_free(&fresh);
		return;
	}
	/* the listening socket stays: what it was made with (listen, socket_mode, ...) stays too */
	cfg_keep_restart_keys(&fresh, &m->cfg, master__kept_until_restart);
	running = m->cfg;
	m->cfg = fresh;
	master__apply_cursor_key(m);
	log_set_level(m->cfg.log_level); /* the new workers inherit it */
	m->nworkers = wanted;
	m->generation = ++m->last_generation;
	m->respawn_after = 0;
	/* New workers first, then the old ones finish what they hold and leave:
	 * the shared socket always has someone accepting. */
	outcome = master__start_generation(m, &running, running_generation, &ready);
	m->reload_generation = 0;
	if (outcome != MASTER__RELOAD_READY) {
		/* Abandoned: the running generation, which serves, is worth more than one
		 * that cannot (a wrong database, say). */
		if (outcome == MASTER__RELOAD_TIMEOUT)
			log_error("reload abandoned, keeping the running configuration and workers: only %ld of %ld "
				  "new workers got ready (connected to the database, statements prepared) within "
				  "shutdown_timeout (%lds); their log lines say why",
				  ready, m->nworkers, m->cfg.shutdown_timeout);
		else if (outcome == MASTER__RELOAD_LOST)
			log_error("reload abandoned, keeping the running configuration and workers: %ld new "
				  "worker(s) died before they were ready (see above; their own log lines say why)",
				  m->reload_lost);
		else
			log_error("reload abandoned: %s came while the new workers were getting ready",
				  m->stop_signal == SIGTERM ? "SIGTERM" : "SIGINT");
		for (size_t i = 0; i < m->count; i++)
			if (m->workers[i].generation == m->generation)
				master__stop_worker(m, &m->workers[i]);
		cfg_free(&m->cfg);
		m->cfg = running;
		m->generation = running_generation;
		m->nworkers = master__wanted(&m->cfg);
		master__apply_cursor_key(m);
		log_set_level(m->cfg.log_level);
		return;
	}
	cfg_free(&running);
	for (size_t i = 0; i < m->count; i++)
		if (m->workers[i].generation != m->generation)
			master__stop_worker(m, &m->workers[i]);
	/* the deliverer of the old configuration leaves; master__spawn_deliver starts one with the new */
	master__stop_deliver(m);
	log_info("configuration reloaded: %ld workers, generation %u", m->nworkers, m->generation);
	metrics_reload();
}

static void
master__init_cursor_key(struct master *m)
{
	if (getrandom(m->cursor_key, sizeof m->cursor_key, 0) != (ssize_t)sizeof m->cursor_key) {
		/* Never fatal: cursors stay verifiable, only guessable. */
		log_warn("getrandom failed; cursor key derived from time and pid");
		snprintf((char *)m->cursor_key, sizeof m->cursor_key, "%lx%lx", (long)time(NULL), (long)getpid());
	}
	master__apply_cursor_key(m);
}

int
master_run(const char *config_path, struct cfg *cfg)
{
	static struct master m; /* large; static keeps it off the stack */
	sigset_t set, reload_set;
	char err[512];
	int exit_status = 0, ready_pipe[2];

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
	sigemptyset(&reload_set);
	sigaddset(&reload_set, SIGCHLD);
	sigaddset(&reload_set, SIGTERM);
	sigaddset(&reload_set, SIGINT);
	set = reload_set;
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!fcgi_library_init() || pipe2(ready_pipe, O_CLOEXEC) != 0 ||
	    fcntl(ready_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
	    (m.reload_sigfd = signalfd(-1, &reload_set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_error("cannot initialise libfcgi, the workers' pipe or the signals' file: %s", strerror(errno));
		master__close_listener(&m.cfg, m.listen_fd);
		cfg_free(&m.cfg);
		return 1;
	}
	m.ready_rd = ready_pipe[0];
	m.ready_wr = ready_pipe[1];
	master__init_cursor_key(&m);
	/* before the first fork: every child counts into the same mapping */
	if (!metrics_init())
		log_warn("cannot map the metrics' shared memory: /metrics counts nothing");

	m.generation = m.last_generation = 1;
	m.nworkers = master__wanted(&m.cfg);
	master__fill(&m);
	log_info("listening on %s with %ld workers", m.cfg.listen, m.nworkers);

	for (;;) {
		struct timespec tick = {.tv_sec = 1};
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig == SIGHUP && !m.shutting_down) {
			log_info("SIGHUP: reloading %s", config_path);
			master__reload(&m, config_path);
			if (m.stop_signal != 0)
				sig = m.stop_signal; /* it came during the reload: stop now */
		}
		if ((sig == SIGTERM || sig == SIGINT) && !m.shutting_down) {
			log_info("%s: stopping after in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			m.shutting_down = true;
			for (size_t i = 0; i < m.count; i++)
				master__stop_worker(&m, &m.workers[i]);
			master__stop_deliver(&m);
		}
		master__reap(&m);
		master__kill_overdue(&m);
		if (m.shutting_down && m.count == 0 && m.deliver_pid == 0 && m.old_deliver_pid == 0)
			break;
		master__fill(&m);
		master__spawn_deliver(&m);
	}
	master__close_listener(&m.cfg, m.listen_fd);
	close(m.ready_rd);
	close(m.ready_wr);
	close(m.reload_sigfd);
	log_info("stopped");
	cfg_free(&m.cfg);
	return exit_status;
}
