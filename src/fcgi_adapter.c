/* libfcgi in, plain structs out: a FastCGI request becomes a struct http_request. */
#include "fcgi_adapter.h"

#include <errno.h>
#include <fcgiapp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	req->accept = fcgi__param(c, "HTTP_ACCEPT", a);
	req->remote_addr = fcgi__param(c, "REMOTE_ADDR", a);
	if (req->method == NULL)
		req->method = "GET";
	if (req->uri == NULL || req->uri[0] != '/')
		req->uri = "/";
	return FCGI_ACCEPTED;
}

/* Appends to the header block; libfcgi's own printf lacks %zu, so formatting is done here. */
static void
fcgi__put(FCGX_Stream *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fcgi__put(FCGX_Stream *out, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0)
		FCGX_PutStr(line, n < (int)sizeof line ? n : (int)sizeof line - 1, out);
}

void
fcgi_respond(struct fcgi_conn *c, const struct http_request *req, const struct http_response *res)
{
	FCGX_Stream *out = c->request.out;

	fcgi__put(out, "Status: %d %s\r\n", res->status, http_status_text(res->status));
	if (res->content_type != NULL)
		fcgi__put(out, "Content-Type: %s\r\n", res->content_type);
	/* 204 and 304 have no body and no length (RFC 9110, 8.6) */
	if (res->status != 204 && res->status != 304)
		fcgi__put(out, "Content-Length: %zu\r\n", res->body_len);
	for (size_t i = 0; i < res->nheaders; i++)
		fcgi__put(out, "%s: %s\r\n", res->headers[i].name, res->headers[i].value);
	FCGX_PutStr("\r\n", 2, out);
	if (res->body != NULL && strcmp(req->method, "HEAD") != 0)
		FCGX_PutStr(res->body, (int)res->body_len, out);
	/* One request per connection: a kept connection would be read with signals
	 * blocked and the listening socket unwatched (fastcgi_keep_conn must stay off). */
	c->request.keepConnection = 0;
	FCGX_Finish_r(&c->request);
	c->active = false;
}
