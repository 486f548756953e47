/* libfcgi in, plain structs out: a FastCGI request becomes a struct http_request. */
#include "fcgi_adapter.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "log.h"

struct fcgi_conn {
	FCGX_Request request;
	bool active; /* a request is accepted and not yet finished */
};

bool
fcgi_library_init(void)
{
	return FCGX_Init() == 0;
}

struct fcgi_conn *
fcgi_conn_new(int listen_fd)
{
	struct fcgi_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	/* FCGI_FAIL_ACCEPT_ON_INTR: a signal must wake the worker, not be retried inside. */
	if (FCGX_InitRequest(&c->request, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
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
	free(c);
}

static const char *
fcgi__param(struct fcgi_conn *c, const char *name, struct arena *a)
{
	const char *v = FCGX_GetParam(name, c->request.envp);

	return v ? arena_strdup(a, v) : NULL;
}

enum fcgi_accept_result
fcgi_accept(struct fcgi_conn *c, struct http_request *req, struct arena *a)
{
	int rc = FCGX_Accept_r(&c->request);

	if (rc < 0) {
		/* libfcgi returns -errno. */
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED)
			return FCGI_AGAIN;
		log_error("FastCGI accept failed: %s", strerror(-rc));
		return FCGI_FAILED;
	}
	c->active = true;
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
		used += (size_t)snprintf(block + used, cap - used, "Content-Type: %s\r\n",
					 res->content_type);
	/* 204 and 304 have no body and no length (RFC 9110, 8.6) */
	if (res->status != 204 && res->status != 304)
		used += (size_t)snprintf(block + used, cap - used, "Content-Length: %zu\r\n",
					 res->body_len);
	for (size_t i = 0; i < res->nheaders; i++)
		used += (size_t)snprintf(block + used, cap - used, "%s: %s\r\n", res->headers[i].name,
					 res->headers[i].value);
	used += (size_t)snprintf(block + used, cap - used, "\r\n");
	*len = used;
	return block;
}

/* writev until every byte is written; false on an error (the peer went away). */
static bool
fcgi__writev_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t n = writev(fd, iov, iovcnt);

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
fcgi__write_stdout(int fd, int request_id, const char *head, size_t head_len, const char *body,
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
					iov[niov++] = (struct iovec){.iov_base = fcgi__iov_base(body),
								     .iov_len = len - n};
			} else {
				iov[niov++] = (struct iovec){.iov_base = fcgi__iov_base(body + (done - head_len)),
							     .iov_len = len};
			}
			done += len;
		}
		if (!fcgi__writev_all(fd, iov, niov))
			return false;
	}
	return true;
}

void
fcgi_respond(struct fcgi_conn *c, const struct http_request *req, const struct http_response *res)
{
	size_t head_len;
	const char *head = fcgi__header_block(res, req->arena, &head_len);
	bool with_body = res->body != NULL && strcmp(req->method, "HEAD") != 0;

	if (!fcgi__write_stdout(c->request.ipcFd, c->request.requestId, head, head_len,
				with_body ? res->body : NULL, with_body ? res->body_len : 0)) {
		log_debug("the response to %s could not be written: %s", req->uri, strerror(errno));
		/* A record may be cut in the middle: nothing more may follow it on this
		 * connection, and FCGX_Finish_r's own writes must fail at once. */
		shutdown(c->request.ipcFd, SHUT_RDWR);
	}
	/* One request per connection: a kept connection would be read with signals
	 * blocked and the listening socket unwatched (fastcgi_keep_conn must stay off). */
	c->request.keepConnection = 0;
	FCGX_Finish_r(&c->request);
	c->active = false;
}
