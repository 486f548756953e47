/* The FastCGI adapter: the only module that sees libfcgi. */
#ifndef FCGI_ADAPTER_H
#define FCGI_ADAPTER_H

#include <stdbool.h>

#include "arena.h"
#include "http.h"

struct fcgi_conn;

/* Once per process, before any other call. */
bool fcgi_library_init(void);
/* A request slot that accepts on listen_fd (a listening socket shared by the pool). Each
 * connection, from its accept to its close, is bounded by request_timeout seconds. */
struct fcgi_conn *fcgi_conn_new(int listen_fd, long request_timeout);
void fcgi_conn_free(struct fcgi_conn *c);

enum fcgi_accept_result { FCGI_ACCEPTED, FCGI_AGAIN, FCGI_FAILED };

/* Accepts one request if one is waiting (the socket is non-blocking) and fills
 * req (method, uri, headers) with strings from its arena. The connection's opening is
 * checked before libfcgi reads it (fcgi_head.h); one that is malformed, or incomplete at
 * request_timeout, is closed (logged at debug level). FCGI_AGAIN: nothing accepted
 * (another worker took it, a signal interrupted the call, or it was closed).
 * The body is not read here: req->read_body reads its FCGI_STDIN records when app.c asks,
 * for a route that takes one, within the same deadline; a stream that breaks (closed, out of
 * time, a record that does not belong) makes fcgi_respond close the connection unanswered. */
enum fcgi_accept_result fcgi_accept(struct fcgi_conn *c, struct http_request *req, struct arena *a);
/* Writes the response (no body for HEAD) and ends the request; what the peer still sends (a
 * body nobody read) is drained within bounds. */
void fcgi_respond(struct fcgi_conn *c, const struct http_request *req, const struct http_response *res);

#endif
