/* Fuzzes the FastCGI request as romtrack receives it: fcgi_head.c's check, then fcgi_adapter.c over a socket. */
#include "fuzz.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "arena.h"
#include "fcgi_adapter.h"
#include "fcgi_head.h"
#include "http.h"
#include "log.h"

/* A listening socket of this process (an abstract unix address), one connection per input. */
static int fuzz__listen = -1;
static struct sockaddr_un fuzz__addr;
static socklen_t fuzz__addrlen;
static struct fcgi_conn *fuzz__conn;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	/* FUZZ_DEBUG=1: the adapter says why it dropped a connection */
	log_set_level(getenv("FUZZ_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	fuzz__addr.sun_family = AF_UNIX;
	/* sun_path[0] stays '\0': abstract, nothing to remove */
	snprintf(fuzz__addr.sun_path + 1, sizeof fuzz__addr.sun_path - 1, "romtrack-fuzz-fcgi-%ld", (long)getpid());
	fuzz__addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(fuzz__addr.sun_path + 1));
	fuzz__listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fuzz__listen < 0 || bind(fuzz__listen, (struct sockaddr *)&fuzz__addr, fuzz__addrlen) != 0 ||
	    listen(fuzz__listen, 4) != 0 || !fcgi_library_init() ||
	    (fuzz__conn = fcgi_conn_new(fuzz__listen, 5)) == NULL) {
		perror("fuzz_fcgi: listening socket");
		abort();
	}
	return 0;
}

/* The verdicts on prefixes and extensions agree: once complete or invalid, always so. */
static void
fuzz__head_prefixes(const uint8_t *data, size_t size, enum fcgi_head_verdict whole)
{
	const char *why;
	size_t cuts[] = {size / 2, size > 0 ? size - 1 : 0, size > 8 ? 8 + data[size - 1] % (size - 8) : 0};

	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		enum fcgi_head_verdict part = fcgi_head_check(data, cuts[i], &why);

		FUZZ_CHECK(part != FCGI_HEAD_INVALID || why != NULL);
		if (whole != FCGI_HEAD_INVALID)
			FUZZ_CHECK(part != FCGI_HEAD_INVALID);
		if (part == FCGI_HEAD_COMPLETE)
			FUZZ_CHECK(whole == FCGI_HEAD_COMPLETE);
		if (part == FCGI_HEAD_INVALID)
			FUZZ_CHECK(whole == FCGI_HEAD_INVALID);
	}
}

static void
fuzz__send(int fd, const uint8_t *data, size_t size)
{
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("fuzz_fcgi: write");
			abort();
		}
		off += (size_t)n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	struct http_response res = {.status = 200, .content_type = "text/plain", .body = "ok", .body_len = 2};
	enum fcgi_head_verdict verdict;
	enum fcgi_accept_result got;
	const char *why, *detail;
	int cli, buf = 1 << 20;

	if (fuzz__conn == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	/* a worker peeks at most FCGI_HEAD_MAX_BYTES; past them the input tells nothing new */
	if (size > FCGI_HEAD_MAX_BYTES + 1024)
		size = FCGI_HEAD_MAX_BYTES + 1024;
	verdict = fcgi_head_check(data, size < FCGI_HEAD_MAX_BYTES ? size : FCGI_HEAD_MAX_BYTES, &why);
	FUZZ_CHECK(verdict != FCGI_HEAD_INVALID || why != NULL);
	fuzz__head_prefixes(data, size < FCGI_HEAD_MAX_BYTES ? size : FCGI_HEAD_MAX_BYTES, verdict);

	/* the same bytes from a peer that then closes its side, as a worker accepts them */
	cli = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cli < 0 || setsockopt(cli, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf) != 0 ||
	    connect(cli, (struct sockaddr *)&fuzz__addr, fuzz__addrlen) != 0) {
		perror("fuzz_fcgi: connect");
		abort();
	}
	fuzz__send(cli, data, size);
	shutdown(cli, SHUT_WR);
	got = fcgi_accept(fuzz__conn, &req, fuzz_arena());
	/* what the check lets through libfcgi accepts, and nothing else */
	FUZZ_CHECK(got != FCGI_FAILED);
	FUZZ_CHECK((got == FCGI_ACCEPTED) == (verdict == FCGI_HEAD_COMPLETE));
	if (got == FCGI_ACCEPTED) {
		FUZZ_CHECK(req.arena == fuzz_arena() && req.method != NULL && req.uri != NULL && req.uri[0] == '/');
		if (http_parse_uri(&req, &detail) == RT_OK)
			for (size_t i = 0; i < req.nquery; i++)
				FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)req.query[i].value,
							   strlen(req.query[i].value)));
		(void)http_request_base_url(&req);
		fcgi_respond(fuzz__conn, &req, &res);
	}
	close(cli);
	arena_reset(fuzz_arena());
	return 0;
}
