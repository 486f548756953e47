/* The route table: method, path pattern and allowed parameters of every API route. */
#ifndef ROUTER_H
#define ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

enum route_id {
	ROUTE_HEALTH,
	ROUTE_DEVICES,
	ROUTE_DEVICE,
	ROUTE_DEVICE_RELEASES,
	ROUTE_DEVICE_VERSION,
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
/* Value of the Allow header, e.g. "GET, HEAD". */
const char *route_allow(enum route_id id);
/* Mask of PARAM_BIT() the route accepts. */
unsigned route_params(enum route_id id);
/* The path template, e.g. "/api/devices/{codename}". */
const char *route_pattern(enum route_id id);

#endif
