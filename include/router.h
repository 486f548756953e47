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
/* a route with accepts may be sent without a body (a DELETE with an optional reason) */
#define ROUTE_BODY_OPTIONAL 4u
/* the answer about {codename} shows releases of other devices too (an RSS feed lists the releases filed under the
 * device's names, sql/012's scopes name the releases' own devices): any change drops it from the cache */
#define ROUTE_ANY_DEVICE 8u

/* A path may have several rows, each with its own methods (disjoint), handler, body and scope: a
 * read row (ROUTE_GET | ROUTE_HEAD | ROUTE_OPTIONS) and write rows (ROUTE_POST, ...) share the
 * pattern. Allow, and a preflight, list the methods of all of them. */
struct route {
	/* "/api/devices/{codename}": "{name}" is one capture (route_capture), a whole segment or its start
	 * ("{codename}.xml": the segment without the suffix) */
	const char *pattern;
	void (*handler)(struct handler_ctx *ctx); /* every row has one (unit.router) */
	unsigned methods;                         /* ROUTE_GET | ... */
	unsigned params;                          /* PARAM_BIT() of the query parameters it accepts */
	unsigned required;                        /* PARAM_BIT() of those it requires */
	const struct http_media *media;           /* what it can answer with (http_negotiate) */
	int max_age;                              /* seconds at most a 200 may be cached (0: revalidate every time); the
						   * configured cache_max_age may lower it */
	unsigned flags;                           /* ROUTE_LIVE, ROUTE_ABSOLUTE_LINKS, ... */
	size_t keyset; /* fields of its cursor, the key of a page's last row (routes with PARAM_CURSOR) */
	/* The media types a request body may have, NULL-terminated (parameters such as charset are
	 * not listed); NULL: the route takes no body. A body is required unless ROUTE_BODY_OPTIONAL. */
	const char *const *accepts;
	/* The token scope a request needs ("releases:write"); NULL: public (every read). Checked in
	 * app.c before anything of the body is looked at. */
	const char *scope;
};

#define ROUTE_GET 1u
#define ROUTE_HEAD 2u
#define ROUTE_OPTIONS 4u /* CORS preflight */
#define ROUTE_POST 8u
#define ROUTE_PUT 16u
#define ROUTE_PATCH 32u
#define ROUTE_DELETE 64u

#define ROUTE_MAX_CAPTURES 4
#define ROUTE_MAX_KEYSET 3

/* The path's captures, checked by the table of route.c and typed: what a handler reads. A
 * member is set when the route's pattern has that capture. */
struct route_path {
	const char *codename;   /* {codename}: a device codename, [A-Za-z0-9_]{1,64} */
	enum dom_branch branch; /* {branch} */
	const char *version;    /* {version}: 1 to 64 of [A-Za-z0-9._-] */
	long long id;           /* {id}: a positive integer */
	long long seq;          /* {seq}: a change's sequence number, a positive integer */
	const char *filename;   /* {filename}: 1 to 255 of [A-Za-z0-9._-] */
	const char *variant;    /* {variant}: a variant codename, [A-Za-z0-9_]{1,64} */
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
 * segments and captures alike compared decoded; false when no route has that shape. The first
 * pattern of that shape decides; of its rows, m->route is the one that takes the request's
 * method, else its first row (route_method_allowed then says no: 405). */
bool route_match(const struct http_request *req, struct arena *a, struct route_match *m);
/* Validates each capture of a match and fills m->path; false with a 400 in *perr for the first
 * capture that its validator refuses. */
bool route_check_path(struct route_match *m, struct arena *a, struct params_error *perr);
/* Whether the row answers the method. */
bool route_method_allowed(const struct route *r, const char *method);
/* The ROUTE_* bit of a method name (case-sensitive, RFC 9110, 9.1); 0 for any other method. */
unsigned route_method_bit(const char *method);
/* Value of the Allow header: the methods of every row of r's pattern, e.g. "GET, HEAD, OPTIONS,
 * POST". */
const char *route_allow(const struct route *r);

/* The table, for listings (romtrack routes) and tests: route_count() rows in order. */
size_t route_count(void);
const struct route *route_at(size_t i);
/* The row's place in the table (route_at(route_index(r)) == r); route_count() for NULL. */
size_t route_index(const struct route *r);
/* The route of a pattern, e.g. "/api/devices/{codename}" (its first row); NULL when none has it. */
const struct route *route_find(const char *pattern);
/* The row of a pattern that takes the method ("POST"); NULL when none does. */
const struct route *route_find_method(const char *pattern, const char *method);
/* The names of the row's own methods, in route_allow's order, into names (at most
 * ROUTE_MAX_METHODS); returns how many. */
#define ROUTE_MAX_METHODS 7
size_t route_methods(const struct route *r, const char *names[ROUTE_MAX_METHODS]);

#endif
