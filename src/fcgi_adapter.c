/* libfcgi in, plain structs out: a FastCGI request becomes a struct http_request. */
#include "fcgi_adapter.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fcgi_head.h"
#include "log.h"

/* After the response, the peer's end of the stream is awaited this long at most. */
#define FCGI__DRAIN_MS 2000
/* Out of descriptors or memory, accept is tried again after this pause... */
#define FCGI__STARVED_PAUSE_MS 100
/* ...and the failures are logged once per this interval, with their count (as db.c does). */
#define FCGI__STARVED_REPORT_MS 10000

struct fcgi_conn {
	FCGX_Request request;
	int listen_fd;
	long request_timeout;     /* seconds, for the whole connection */
	struct timespec deadline; /* of the connection in hand (CLOCK_MONOTONIC) */
	bool active;              /* a request is accepted and not yet finished */
	/* accept failing for want of descriptors or memory: since when, last report, count */
	bool starved;
	int64_t starved_since_ms, reported_ms;
	unsigned failed_total, failed_since_report;
	/* libfcgi reads the opening from this file, not from the connection (fcgi__hand_head) */
	int head_fd;
	off_t head_fd_size;
	size_t head_padding; /* of the opening's last record, still on the connection before the body */
	size_t peeked;       /* bytes of the connection in head */
	bool stdin_done;     /* the empty FCGI_STDIN record came with the opening (a request without a body) */
	bool drop;           /* the request's stream broke: nothing is sent, the connection is closed */
	unsigned char head[FCGI_HEAD_MAX_BYTES]; /* what the peer sent first, peeked */
};

bool
fcgi_library_init(void)
{
	return FCGX_Init() == 0;
}

struct fcgi_conn *
fcgi_conn_new(int listen_fd, long request_timeout)
{
	struct fcgi_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->listen_fd = listen_fd;
	c->request_timeout = request_timeout;
	c->head_fd = -1;
	/* The worker accepts connections itself (fcgi_accept): libfcgi gets no listening
	 * socket, so that it can never accept one unchecked. */
	if (FCGX_InitRequest(&c->request, -1, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

void
fcgi_conn_free(struct fcgi_conn *c)
{
	if (c == NULL)
		return;
	if (c->active)
		FCGX_Finish_r(&c->request);
	FCGX_Free(&c->request, 1);
	if (c->head_fd >= 0)
		close(c->head_fd);
	free(c);
}

static const char *
fcgi__param(struct fcgi_conn *c, const char *name, struct arena *a)
{
	const char *v = FCGX_GetParam(name, c->request.envp);

	return v ? arena_strdup(a, v) : NULL;
}

/* Milliseconds left until the connection's deadline (0 when it has passed). */
static long
fcgi__ms_left(const struct fcgi_conn *c)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (c->deadline.tv_sec - now.tv_sec) * 1000 + (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/* Socket timeouts of the connection: what is left of its deadline, so that no read or
 * write in libfcgi or here blocks past it (accepted AF_UNIX sockets inherit none). */
static bool
fcgi__arm_timeouts(struct fcgi_conn *c, int fd)
{
	long ms = fcgi__ms_left(c);
	/* past the deadline: 1 ms, so that libfcgi's last writes fail at once (0 would mean never) */
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = ms == 0 ? 1000 : (ms % 1000) * 1000};
	bool set = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
		   setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0;

	return set && ms > 0;
}

/*
 * Waits (until the deadline) for the opening of the connection: BEGIN_REQUEST and the
 * parameters, which libfcgi's accept reads in full and trusts (a huge length makes it
 * abort, a management record makes it leak). Peeked, not read, so libfcgi then reads
 * the same bytes, all already here. NULL when it is well-formed, else why not.
 */
static const char *
fcgi__await_head(struct fcgi_conn *c, int fd)
{
	long pause_ms = 1;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
		long left = fcgi__ms_left(c);
		const char *why;
		ssize_t n;

		if (left == 0)
			return "request_timeout passed before the request was complete";
		if (poll(&pfd, 1, (int)left) <= 0)
			continue; /* the next round sees the deadline */
		n = recv(fd, c->head, sizeof c->head, MSG_PEEK | MSG_DONTWAIT);
		c->peeked = n > 0 ? (size_t)n : 0;
		if (n == 0)
			return "the peer closed the connection before the request was complete";
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return strerror(errno);
		}
		switch (fcgi_head_check(c->head, (size_t)n, &why)) {
		case FCGI_HEAD_COMPLETE: return NULL;
		case FCGI_HEAD_INVALID: return why;
		case FCGI_HEAD_INCOMPLETE:
			if (pfd.revents & (POLLRDHUP | POLLHUP))
				return "the peer closed the connection before the request was complete";
			break;
		}
		/* The socket stays readable with the bytes already peeked: look again after a
		 * pause that grows (a peer that sends its request in pieces is rare: nginx
		 * writes it at once). */
		left = fcgi__ms_left(c);
		pause_ms = pause_ms < 50 ? pause_ms * 2 : 50;
		{
			long ms = pause_ms < left ? pause_ms : left;
			struct timespec pause = {.tv_sec = 0, .tv_nsec = ms * 1000000};

			nanosleep(&pause, NULL);
		}
	}
}

static int64_t
fcgi__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* accept failed for want of a resource (errno): the connection stays in the backlog for
 * another worker or for later. Logged at the first failure, then once per interval with a
 * count; a pause keeps the worker from spinning on a socket that stays readable. */
static void
fcgi__accept_starved(struct fcgi_conn *c)
{
	int64_t now = fcgi__now_ms();
	struct timespec pause = {.tv_sec = 0, .tv_nsec = FCGI__STARVED_PAUSE_MS * 1000000L};

	c->failed_total++;
	if (!c->starved) {
		c->starved = true;
		c->starved_since_ms = c->reported_ms = now;
		c->failed_since_report = 0;
		log_warn("FastCGI accept failed: %s; trying again every %d ms", strerror(errno),
			 FCGI__STARVED_PAUSE_MS);
	} else if (++c->failed_since_report, now - c->reported_ms >= FCGI__STARVED_REPORT_MS) {
		log_warn("FastCGI accept still failing: %s (%u times in the last %lld s)", strerror(errno),
			 c->failed_since_report, (long long)((now - c->reported_ms + 500) / 1000));
		c->failed_since_report = 0;
		c->reported_ms = now;
	}
	nanosleep(&pause, NULL);
}

/* A connection was accepted: ends a shortage, if there was one. */
static void
fcgi__accept_fed(struct fcgi_conn *c)
{
	if (!c->starved)
		return;
	log_info("FastCGI accept works again after %u failures in %lld s", c->failed_total,
		 (long long)((fcgi__now_ms() - c->starved_since_ms + 500) / 1000));
	c->starved = false;
	c->failed_total = 0;
}

/* Bytes of the opening in c->head, which fcgi_head_check found complete: records up to the
 * header of the empty PARAMS one. libfcgi stops there, before that record's padding, which may
 * still be on its way: *padding says how much of it comes before the body. */
static size_t
fcgi__head_length(const struct fcgi_conn *c, size_t *padding)
{
	size_t at = 0;

	for (;;) {
		const unsigned char *h = c->head + at;
		size_t clen = (size_t)h[4] << 8 | h[5];

		if (h[1] == FCGI_PARAMS && clen == 0) {
			*padding = h[6];
			return at + FCGI_HEADER_LEN;
		}
		at += FCGI_HEADER_LEN + clen + h[6];
	}
}

/*
 * Takes the opening off the connection and puts it in a file of its own for libfcgi to read: its
 * accept reads as much as the socket holds, and would take the start of the body into its buffer
 * too. The body is then the connection's alone, read by fcgi__read_body within the deadline
 * (libfcgi's reader would loop for as long as a peer kept sending records of other requests).
 * False with errno set when that fails.
 */
static bool
fcgi__hand_head(struct fcgi_conn *c, int fd)
{
	size_t len = fcgi__head_length(c, &c->head_padding), take, done = 0;
	const unsigned char *next;

	if (c->head_fd < 0) {
		c->head_fd = memfd_create("romtrack-fcgi-head", MFD_CLOEXEC);
		c->head_fd_size = 0;
		if (c->head_fd < 0)
			return false;
	}
	/* A request without a body (nginx's every GET) ends with an empty FCGI_STDIN record, sent
	 * with the opening: taken too, so that nothing of the request stays unread on the connection
	 * (a worker that dies with unread bytes makes the peer's next read fail with ECONNRESET
	 * rather than see the end of the stream). */
	next = c->head + len + c->head_padding;
	c->stdin_done = c->peeked >= len + c->head_padding + FCGI_HEADER_LEN && next[0] == FCGI_VERSION_1 &&
			next[1] == FCGI_STDIN && next[2] == c->head[2] && next[3] == c->head[3] && next[4] == 0 &&
			next[5] == 0 && next[6] == 0;
	take = c->stdin_done ? len + c->head_padding + FCGI_HEADER_LEN : len;
	if (c->stdin_done)
		c->head_padding = 0;
	while (done < take) { /* every byte is there already (peeked) */
		ssize_t n = recv(fd, c->head + done, take - done, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0)
				errno = ECONNRESET;
			return false;
		}
		done += (size_t)n;
	}
	if (pwrite(c->head_fd, c->head, len, 0) != (ssize_t)len)
		return false;
	if (c->head_fd_size > (off_t)len && ftruncate(c->head_fd, (off_t)len) != 0)
		return false;
	c->head_fd_size = (off_t)len;
	return lseek(c->head_fd, 0, SEEK_SET) == 0;
}

/* Reads exactly len bytes of the connection by its deadline; false when it closes, fails or the
 * deadline passes first (*why says which). */
static bool
fcgi__recv_all(struct fcgi_conn *c, int fd, void *buf, size_t len, const char **why)
{
	unsigned char *p = buf;

	while (len > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long left = fcgi__ms_left(c);
		ssize_t n;

		if (left == 0) {
			*why = "request_timeout passed while the body was sent";
			return false;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue; /* the next round sees the deadline */
		n = recv(fd, p, len, MSG_DONTWAIT);
		if (n == 0) {
			*why = "the peer closed the connection in the middle of the body";
			return false;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			*why = strerror(errno);
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * http_request.read_body: the FCGI_STDIN records of the request up to the empty one, their
 * content appended, at most limit bytes (and at most CONTENT_LENGTH when given). Any other record
 * (FCGI_ABORT_REQUEST, another request's, a management record) or a broken stream drops the
 * connection; the deadline bounds it all.
 */
static enum http_body_status
fcgi__read_body(struct http_request *req, size_t limit, const char **detail)
{
	struct fcgi_conn *c = req->body_source;
	int fd = c->request.ipcFd;
	long long declared = req->content_length;
	size_t cap = declared >= 0 && (unsigned long long)declared < limit ? (size_t)declared : limit;
	size_t size = cap < 65536 ? cap : 65536, got = 0;
	char *buf = arena_alloc(req->arena, size + 1);
	const char *why = NULL;
	unsigned char padding[255];

	if (!fcgi__recv_all(c, fd, padding, c->head_padding, &why))
		goto drop;
	for (; !c->stdin_done;) {
		FCGI_Header h;

		size_t clen;
		int id;

		if (!fcgi__recv_all(c, fd, &h, sizeof h, &why))
			goto drop;
		clen = (size_t)h.contentLengthB1 << 8 | h.contentLengthB0;
		id = h.requestIdB1 << 8 | h.requestIdB0;
		if (h.version != FCGI_VERSION_1 || h.type != FCGI_STDIN || id != c->request.requestId) {
			why = h.type == FCGI_ABORT_REQUEST ? "the peer aborted the request"
							   : "a record other than the request's FCGI_STDIN came";
			goto drop;
		}
		if (clen == 0)
			break;
		if (clen > cap - got) {
			if (declared >= 0 && (unsigned long long)declared <= limit) {
				*detail = arena_printf(req->arena,
						       "the body is longer than its Content-Length, %lld bytes",
						       declared);
				return HTTP_BODY_MISMATCH;
			}
			return HTTP_BODY_TOO_LARGE;
		}
		if (got + clen > size) { /* no CONTENT_LENGTH, or a large one: grow as it comes */
			char *bigger;

			while (got + clen > size)
				size = size * 2 < cap ? size * 2 : cap;
			bigger = arena_alloc(req->arena, size + 1);
			memcpy(bigger, buf, got);
			buf = bigger;
		}
		if (!fcgi__recv_all(c, fd, buf + got, clen, &why) ||
		    !fcgi__recv_all(c, fd, padding, h.paddingLength, &why))
			goto drop;
		got += clen;
	}
	buf[got] = '\0';
	req->body = buf;
	req->body_len = got;
	if (declared >= 0 && (unsigned long long)declared != got) {
		*detail =
			arena_printf(req->arena, "the body has %zu bytes, its Content-Length said %lld", got, declared);
		return HTTP_BODY_MISMATCH;
	}
	return HTTP_BODY_OK;
drop:
	log_debug("FastCGI connection dropped: %s", why);
	c->drop = true;
	return HTTP_BODY_DROPPED;
}

/* CONTENT_LENGTH: -1 when absent or empty, -2 when not 1 to 18 decimal digits. */
static long long
fcgi__content_length(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n == 0)
		return -1;
	if (n > 18 || strspn(v, "0123456789") != n)
		return -2;
	return strtoll(v, NULL, 10);
}

enum fcgi_accept_result
fcgi_accept(struct fcgi_conn *c, struct http_request *req, struct arena *a)
{
	const char *why;
	int fd, rc;

	fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case EPERM: return FCGI_AGAIN; /* another worker took it, or it went away */
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Transient: a worker that left would be replaced at once by one that
			 * fails the same way, with a new database connection each time. */
			fcgi__accept_starved(c);
			return FCGI_AGAIN;
		default: log_error("FastCGI accept failed: %s", strerror(errno)); return FCGI_FAILED;
		}
	}
	fcgi__accept_fed(c);
	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += c->request_timeout;
	why = fcgi__arm_timeouts(c, fd) ? fcgi__await_head(c, fd) : strerror(errno);
	if (why == NULL && !fcgi__hand_head(c, fd))
		why = strerror(errno);
	if (why != NULL) {
		/* debug only: whoever can open the socket must not be able to fill the log */
		log_debug("FastCGI connection dropped: %s", why);
		close(fd);
		return FCGI_AGAIN;
	}
	/* libfcgi accepts only when ipcFd < 0: hand it the connection. keepConnection keeps
	 * FCGX_Accept_r from closing it as "the previous request" first; the request's own
	 * flag is read from BEGIN_REQUEST. */
	c->request.ipcFd = c->head_fd;
	c->request.keepConnection = 1;
	/* Detached, libfcgi's every close of it is a plain close: attached, it would first wait
	 * for the peer's end of the stream, 2 s at a time and again after each byte, for ever
	 * (its FCGX_Accept_r closes that way when it cannot read the request). fcgi_respond
	 * drains within bounds itself. */
	FCGX_Detach(&c->request);
	rc = FCGX_Accept_r(&c->request);
	if (rc < 0) {
		/* Not expected after the check; libfcgi has closed its file (made anew next time). */
		log_debug("FastCGI connection dropped by libfcgi (%d)", rc);
		if (c->request.ipcFd != c->head_fd)
			c->head_fd = -1;
		close(fd);
		return FCGI_AGAIN;
	}
	/* from here on libfcgi writes (the end of the request) to the connection itself */
	c->request.ipcFd = fd;
	c->active = true;
	c->drop = false;
	memset(req, 0, sizeof *req);
	req->arena = a;
	req->method = fcgi__param(c, "REQUEST_METHOD", a);
	req->uri = fcgi__param(c, "REQUEST_URI", a);
	req->if_none_match = fcgi__param(c, "HTTP_IF_NONE_MATCH", a);
	req->if_modified_since = fcgi__param(c, "HTTP_IF_MODIFIED_SINCE", a);
	req->accept = fcgi__param(c, "HTTP_ACCEPT", a);
	req->remote_addr = fcgi__param(c, "REMOTE_ADDR", a);
	req->scheme = fcgi__param(c, "REQUEST_SCHEME", a);
	req->host = fcgi__param(c, "HTTP_HOST", a);
	req->server_addr = fcgi__param(c, "SERVER_ADDR", a);
	req->server_port = fcgi__param(c, "SERVER_PORT", a);
	req->authorization = fcgi__param(c, "HTTP_AUTHORIZATION", a);
	req->content_type = fcgi__param(c, "CONTENT_TYPE", a);
	if (req->content_type != NULL && req->content_type[0] == '\0')
		req->content_type = NULL; /* nginx passes $content_type empty when there is none */
	req->content_length = fcgi__content_length(FCGX_GetParam("CONTENT_LENGTH", c->request.envp));
	req->if_match = fcgi__param(c, "HTTP_IF_MATCH", a);
	/* the client's own id when it is one romtrack can log and store, else nginx's */
	req->request_id = fcgi__param(c, "HTTP_X_REQUEST_ID", a);
	if (!http_request_id_valid(req->request_id)) {
		req->request_id = fcgi__param(c, "ROMTRACK_REQUEST_ID", a);
		if (!http_request_id_valid(req->request_id))
			req->request_id = NULL;
	}
	req->read_body = fcgi__read_body;
	req->body_source = c;
	if (req->method == NULL)
		req->method = "GET";
	if (req->uri == NULL || req->uri[0] != '/')
		req->uri = "/";
	return FCGI_ACCEPTED;
}

/* The CGI-style header block of a response: status line, type, length, headers, blank line. */
static char *
fcgi__header_block(const struct http_response *res, struct arena *a, size_t *len)
{
	size_t cap = 256 + (res->content_type ? strlen(res->content_type) : 0);
	size_t used = 0;
	char *block;
	int n;

	for (size_t i = 0; i < res->nheaders; i++)
		cap += strlen(res->headers[i].name) + strlen(res->headers[i].value) + 4;
	block = arena_alloc(a, cap);
	n = snprintf(block, cap, "Status: %d %s\r\n", res->status, http_status_text(res->status));
	used += (size_t)n;
	if (res->content_type != NULL)
		used += (size_t)snprintf(block + used, cap - used, "Content-Type: %s\r\n", res->content_type);
	/* 204 and 304 have no body and no length (RFC 9110, 8.6) */
	if (res->status != 204 && res->status != 304)
		used += (size_t)snprintf(block + used, cap - used, "Content-Length: %zu\r\n", res->body_len);
	for (size_t i = 0; i < res->nheaders; i++)
		used += (size_t)snprintf(block + used, cap - used, "%s: %s\r\n", res->headers[i].name,
					 res->headers[i].value);
	used += (size_t)snprintf(block + used, cap - used, "\r\n");
	*len = used;
	return block;
}

/* writev until every byte is written; false on an error (the peer went away) or at the
 * connection's deadline (a peer that reads slowly cannot hold the worker). */
static bool
fcgi__writev_all(struct fcgi_conn *c, int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t n;

		if (!fcgi__arm_timeouts(c, fd)) {
			errno = ETIMEDOUT;
			return false;
		}
		n = writev(fd, iov, iovcnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return true;
}

/* struct iovec takes a non-const pointer even for writing; the bytes are only read. */
static void *
fcgi__iov_base(const char *p)
{
	return (void *)(uintptr_t)p;
}

/* Records per writev: each takes a header and at most two pieces of content. */
#define FCGI__RECORDS_PER_WRITE 16

/*
 * Writes the header block and the body as FCGI_STDOUT records of the largest size, in as
 * few writev calls as possible. libfcgi's own stream would cut the response into 8 kB
 * records, one write each, and nginx would read them one by one: for a 90 kB page that
 * was most of the cost of a cached answer. The stream itself stays empty, so that
 * FCGX_Finish_r then adds the end of the stream and the end of the request.
 */
static bool
fcgi__write_stdout(struct fcgi_conn *c, int fd, int request_id, const char *head, size_t head_len, const char *body,
		   size_t body_len)
{
	FCGI_Header headers[FCGI__RECORDS_PER_WRITE];
	struct iovec iov[FCGI__RECORDS_PER_WRITE * 3];
	size_t total = head_len + body_len, done = 0;

	while (done < total) {
		int nrec = 0, niov = 0;

		for (; nrec < FCGI__RECORDS_PER_WRITE && done < total; nrec++) {
			size_t len = total - done < FCGI_MAX_LENGTH ? total - done : FCGI_MAX_LENGTH;
			FCGI_Header *h = &headers[nrec];

			*h = (FCGI_Header){
				.version = FCGI_VERSION_1,
				.type = FCGI_STDOUT,
				.requestIdB1 = (unsigned char)((request_id >> 8) & 0xff),
				.requestIdB0 = (unsigned char)(request_id & 0xff),
				.contentLengthB1 = (unsigned char)((len >> 8) & 0xff),
				.contentLengthB0 = (unsigned char)(len & 0xff),
			};
			iov[niov++] = (struct iovec){.iov_base = h, .iov_len = sizeof *h};
			if (done < head_len) {
				size_t n = head_len - done < len ? head_len - done : len;

				iov[niov++] = (struct iovec){.iov_base = fcgi__iov_base(head + done), .iov_len = n};
				if (n < len)
					iov[niov++] =
						(struct iovec){.iov_base = fcgi__iov_base(body), .iov_len = len - n};
			} else {
				iov[niov++] = (struct iovec){.iov_base = fcgi__iov_base(body + (done - head_len)),
							     .iov_len = len};
			}
			done += len;
		}
		if (!fcgi__writev_all(c, fd, iov, niov))
			return false;
	}
	return true;
}

/* Ends our side and reads what the peer still sends until it closes (so that a TCP peer
 * gets no reset while it reads the response), up to the deadline or FCGI__DRAIN_MS. */
static void
fcgi__drain(struct fcgi_conn *c, int fd)
{
	struct timespec end;
	char trash[1024];

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += FCGI__DRAIN_MS / 1000;
	if (end.tv_sec < c->deadline.tv_sec || (end.tv_sec == c->deadline.tv_sec && end.tv_nsec < c->deadline.tv_nsec))
		c->deadline = end;
	if (shutdown(fd, SHUT_WR) != 0)
		return;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long left = fcgi__ms_left(c);

		if (left == 0 || poll(&pfd, 1, (int)left) <= 0 || recv(fd, trash, sizeof trash, MSG_DONTWAIT) <= 0)
			return;
	}
}

void
fcgi_respond(struct fcgi_conn *c, const struct http_request *req, const struct http_response *res)
{
	size_t head_len;
	const char *head = fcgi__header_block(res, req->arena, &head_len);
	bool with_body = res->body != NULL && strcmp(req->method, "HEAD") != 0;

	int fd = c->request.ipcFd, kept;

	if (c->drop) {
		/* the request's stream broke: no answer, and libfcgi's last writes fail at once */
		shutdown(fd, SHUT_RDWR);
	} else if (!fcgi__write_stdout(c, fd, c->request.requestId, head, head_len, with_body ? res->body : NULL,
				       with_body ? res->body_len : 0)) {
		log_debug("the response to %s could not be written: %s", req->uri, strerror(errno));
		/* A record may be cut in the middle: nothing more may follow it on this
		 * connection, and FCGX_Finish_r's own writes must fail at once. */
		shutdown(fd, SHUT_RDWR);
	}
	/* One request per connection: a kept connection would be read with signals
	 * blocked and the listening socket unwatched (fastcgi_keep_conn must stay off). */
	c->request.keepConnection = 0;
	/* libfcgi's close would wait for the peer's end of the stream 2 s at a time, again
	 * after each byte, for ever: detached, it just closes, and a duplicate of the
	 * connection is drained here within bounds. */
	kept = fcgi__arm_timeouts(c, fd) ? dup(fd) : -1;
	FCGX_Detach(&c->request);
	FCGX_Finish_r(&c->request);
	c->active = false;
	if (kept >= 0) {
		fcgi__drain(c, kept);
		close(kept);
	}
}
