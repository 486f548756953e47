/* The route table: method, path pattern and allowed parameters of every API route. */
#ifndef ROUTER_H
#define ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

struct http_media;

enum route_id {
	ROUTE_HEALTH,
	ROUTE_DEVICES,
	ROUTE_DEVICE,
	ROUTE_DEVICE_RELEASES,
	ROUTE_DEVICE_VERSION,
	ROUTE_DEVICE_LATEST,
	ROUTE_DEVICE_UPDATES,
	ROUTE_DEVICE_FEED,
	ROUTE_RELEASES,
	ROUTE_RELEASES_LATEST, /* before ROUTE_RELEASE: "latest" is not an id */
	ROUTE_RELEASE,
	ROUTE_RELEASE_BY_FILENAME,
	ROUTE_REGIONS,
	ROUTE_BRANCHES,
	ROUTE_FEED,
	ROUTE_OPENAPI,
	ROUTE__MAX /* "no such route" */
};

#define ROUTE_MAX_CAPTURES 4

struct route_match {
	enum route_id id;
	const char *captures[ROUTE_MAX_CAPTURES]; /* decoded {placeholders}, in order */
	size_t ncaptures;
};

/* Matches a raw (percent-encoded) path; ROUTE__MAX when no route has that shape.
 * Captures are decoded into the arena; a capture that does not decode fails the match. */
enum route_id route_match(const char *path, struct arena *a, struct route_match *m);
/* Whether the route answers the method (GET and HEAD for every route today). */
bool route_method_allowed(enum route_id id, const char *method);
/* The media types the route can answer with (for http_negotiate). */
const struct http_media *route_media(enum route_id id);
/* Seconds at most that a 200 of the route may be cached (0: revalidate every time); the
 * configured cache_max_age may lower it. */
int route_max_age(enum route_id id);
/* Whether the response cache may keep the route's answers (not /api/health). */
bool route_cacheable(enum route_id id);
/* Value of the Allow header, e.g. "GET, HEAD, OPTIONS". */
const char *route_allow(enum route_id id);
/* Mask of PARAM_BIT() the route accepts. */
unsigned route_params(enum route_id id);
/* The path template, e.g. "/api/devices/{codename}". */
const char *route_pattern(enum route_id id);

#endif
