/* Plain HTTP request and response structs: what handlers see instead of FastCGI. */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "rt_error.h"

#define HTTP_MAX_URI 2048 /* longer request URIs get 414 */
#define HTTP_MAX_QUERY_PARAMS 32
#define HTTP_MAX_HEADERS 16

struct json_t; /* jansson's json_t */
struct http_request;

/* What reading a request's body gave (http_request.read_body). */
enum http_body_status {
	HTTP_BODY_OK,        /* body and body_len hold it all (possibly empty) */
	HTTP_BODY_TOO_LARGE, /* more than the limit: 413 */
	HTTP_BODY_MISMATCH,  /* its length is not what CONTENT_LENGTH said: 400 (*detail says which) */
	HTTP_BODY_DROPPED,   /* the stream broke (closed, timed out, malformed): no answer can be sent */
};

struct http_query_param {
	const char *name;  /* decoded, valid UTF-8, no NUL */
	const char *value; /* decoded, valid UTF-8, no NUL */
};

struct http_request {
	const char *method;
	const char *uri;       /* raw REQUEST_URI */
	const char *path;      /* raw path (before '?'), still percent-encoded */
	const char **segments; /* the path's segments between '/', each percent-decoded once */
	size_t nsegments;
	const char *if_none_match;
	const char *if_modified_since;
	const char *accept;
	const char *remote_addr;
	const char *scheme;      /* REQUEST_SCHEME: how nginx was reached ("http", "https") */
	const char *host;        /* the Host header as the client sent it: unchecked */
	const char *server_addr; /* SERVER_ADDR and SERVER_PORT: where nginx took the connection */
	const char *server_port;
	struct http_query_param query[HTTP_MAX_QUERY_PARAMS];
	size_t nquery;
	struct arena *arena;
	/* For writes. authorization holds a secret: never logged, never echoed into a response. */
	const char *authorization; /* HTTP_AUTHORIZATION, as sent */
	const char *content_type;  /* CONTENT_TYPE, as sent */
	long long content_length;  /* CONTENT_LENGTH: -1 absent or empty, -2 not a decimal number */
	const char *if_match;      /* HTTP_IF_MATCH (http_if_match) */
	const char *request_id;    /* a valid X-Request-Id the client sent, else nginx's $request_id; NULL: none */
	/* The body: set by app.c (read_body) for a route that takes one, before its handler runs;
	 * NULL and 0 otherwise. Arena bytes with a NUL after the last (which body_len does not count). */
	const char *body;
	size_t body_len;
	const char *body_type;    /* the route's accepted media type that Content-Type matched */
	struct json_t *body_json; /* the parsed body when body_type is JSON; freed with the arena */
	/* Reads the whole body into body and body_len, at most limit bytes (the FastCGI adapter sets
	 * it; NULL: the request has no body to read). Called once; *detail explains a MISMATCH. */
	enum http_body_status (*read_body)(struct http_request *req, size_t limit, const char **detail);
	void *body_source; /* what read_body reads from */
};

struct http_header {
	const char *name;
	const char *value;
};

struct http_response {
	int status;
	const char *content_type;
	const char *body; /* may be NULL */
	size_t body_len;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	const char *dropped_header; /* the first header past HTTP_MAX_HEADERS (a bug: answered 500) */
	const char *etag;           /* of the body, once computed (or as cached) */
};

/* Parses request->uri into path, its decoded segments and the query (percent-decoded, UTF-8
 * checked). On error returns RT_ERR_URI_TOO_LONG or RT_ERR_BAD_REQUEST with *detail set. */
enum rt_err http_parse_uri(struct http_request *req, const char **detail);

/* Percent-decodes src[0..len) into an arena string; plus_is_space for query
 * strings. Returns NULL for a malformed escape, a NUL byte or invalid UTF-8. */
char *http_decode(struct arena *a, const char *src, size_t len, bool plus_is_space);
/* Percent-encodes a query value (RFC 3986 unreserved characters stay). */
char *http_encode(struct arena *a, const char *src);

/* Adds a header; past HTTP_MAX_HEADERS it records the name in dropped_header, and
 * http_finish turns the response into a 500 that says so in the log. */
void http_add_header(struct http_response *res, const char *name, const char *value);
/* Whether a request id (X-Request-Id, nginx's $request_id) may be logged and stored: 1 to 128 of
 * letters, digits, '.', '_', ':' and '-'. */
bool http_request_id_valid(const char *id);
/* Whether a Host header value may be written into a URL: a DNS name (letters, digits,
 * '-', '.') or a bracketed IPv6 literal, with an optional port; at most 255 bytes. */
bool http_host_valid(const char *host);
/* "scheme://host[:port]" the request reached nginx at, for absolute links when no
 * public_url is configured: the Host header when valid, else nginx's own address and
 * port; X-Forwarded-* are ignored (any client can send them). */
const char *http_request_base_url(const struct http_request *req);
/* Sets a JSON body (takes ownership of nothing: the text lives in the arena). */
void http_set_body(struct http_response *res, int status, const char *content_type, const char *body);
/* An application/problem+json response; parameter may be NULL. detail is copied. */
void http_problem(struct http_response *res, struct arena *a, enum rt_err err, const char *detail,
		  const char *parameter);
/* http_problem with extension members (RFC 9457, 3.2): the members of the object extra are added
 * to the problem (extra is consumed: its reference is released; NULL adds none). */
void http_problem_with(struct http_response *res, struct arena *a, enum rt_err err, const char *detail,
		       struct json_t *extra);
const char *http_status_text(int status);

#endif
