/* The FastCGI adapter: the only module that sees libfcgi. */
#ifndef FCGI_ADAPTER_H
#define FCGI_ADAPTER_H

#include <stdbool.h>

#include "arena.h"
#include "http.h"

struct fcgi_conn;

/* Once per process, before any other call. */
bool fcgi_library_init(void);
/* A request slot that accepts on listen_fd (a listening socket shared by the pool). */
struct fcgi_conn *fcgi_conn_new(int listen_fd);
void fcgi_conn_free(struct fcgi_conn *c);

enum fcgi_accept_result { FCGI_ACCEPTED, FCGI_AGAIN, FCGI_FAILED };

/* Accepts one request if one is waiting (the socket is non-blocking) and fills
 * req (method, uri, headers) with strings from its arena. FCGI_AGAIN: another
 * worker took it, or a signal interrupted the call. */
enum fcgi_accept_result fcgi_accept(struct fcgi_conn *c, struct http_request *req,
				    struct arena *a);
/* Writes the response (no body for HEAD) and ends the request. */
void fcgi_respond(struct fcgi_conn *c, const struct http_request *req,
		  const struct http_response *res);

#endif
