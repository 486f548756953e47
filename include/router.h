/* The route table: path pattern, handler, methods, parameters and media of every API route, and the
 * validators of the path's {captures}. */
#ifndef ROUTER_H
#define ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "domain.h"
#include "http.h"
#include "params.h"

struct handler_ctx;
struct http_media;

/* Route flags. */
/* answers the state of now (health): never cached, no ETag */
#define ROUTE_LIVE 1u
/* the body names absolute URLs (feeds): without public_url they name the Host of each request */
#define ROUTE_ABSOLUTE_LINKS 2u

struct route {
	const char *pattern; /* "/api/devices/{codename}": "{name}" is one capture (route_capture) */
	void (*handler)(struct handler_ctx *ctx);
	unsigned methods;               /* ROUTE_GET | ... */
	unsigned params;                /* PARAM_BIT() of the query parameters it accepts */
	unsigned required;              /* PARAM_BIT() of those it requires */
	const struct http_media *media; /* what it can answer with (http_negotiate) */
	int max_age;                    /* seconds at most a 200 may be cached (0: revalidate every time); the
					 * configured cache_max_age may lower it */
	unsigned flags;                 /* ROUTE_LIVE, ROUTE_ABSOLUTE_LINKS */
	size_t keyset; /* fields of its cursor, the key of a page's last row (routes with PARAM_CURSOR) */
};

#define ROUTE_GET 1u
#define ROUTE_HEAD 2u
#define ROUTE_OPTIONS 4u /* CORS preflight */

#define ROUTE_MAX_CAPTURES 4
#define ROUTE_MAX_KEYSET 3

/* The path's captures, checked by the table of route.c and typed: what a handler reads. A
 * member is set when the route's pattern has that capture. */
struct route_path {
	const char *codename;   /* {codename}: a device codename, [A-Za-z0-9_]{1,64} */
	enum dom_branch branch; /* {branch} */
	const char *version;    /* {version}: 1 to 64 of [A-Za-z0-9._-] */
	long long id;           /* {id}: a positive integer */
	const char *filename;   /* {filename}: 1 to 255 of [A-Za-z0-9._-] */
};

struct route_match {
	const struct route *route;                /* NULL: no route has the path's shape */
	const char *captures[ROUTE_MAX_CAPTURES]; /* decoded {placeholders}, in order */
	size_t ncaptures;
	const char *canonical_path; /* the pattern with the captures percent-encoded again:
				     * one spelling of every path that means the same */
	struct route_path path;     /* valid after route_check_path */
};

/* Matches the request's path segments (http_parse_uri decoded them) against the table, literal
 * segments and captures alike compared decoded; false when no route has that shape. */
bool route_match(const struct http_request *req, struct arena *a, struct route_match *m);
/* Validates each capture of a match and fills m->path; false with a 400 in *perr for the first
 * capture that its validator refuses. */
bool route_check_path(struct route_match *m, struct arena *a, struct params_error *perr);
/* Whether the route answers the method (GET, HEAD and OPTIONS for every route today). */
bool route_method_allowed(const struct route *r, const char *method);
/* Value of the Allow header, e.g. "GET, HEAD, OPTIONS". */
const char *route_allow(const struct route *r);

/* The table, for listings (romtrack routes) and tests: route_count() rows in order. */
size_t route_count(void);
const struct route *route_at(size_t i);
/* The route of a pattern, e.g. "/api/devices/{codename}"; NULL when none has it. */
const struct route *route_find(const char *pattern);

#endif
