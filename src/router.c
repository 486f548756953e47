/* Routing by a static table of path templates; "{name}" matches one non-empty segment. */
#include "router.h"

#include <string.h>

#include "http.h"
#include "params.h"

#define ROUTE__GET 1u
#define ROUTE__HEAD 2u

#define ROUTE__LIST (PARAM_BIT(PARAM_LIMIT) | PARAM_BIT(PARAM_CURSOR))
#define ROUTE__FILTERS                                                                   \
	(PARAM_BIT(PARAM_REGION) | PARAM_BIT(PARAM_BRANCH) | PARAM_BIT(PARAM_TYPE) |     \
	 PARAM_BIT(PARAM_VERSION) | PARAM_BIT(PARAM_ANDROID) | PARAM_BIT(PARAM_SINCE) |  \
	 PARAM_BIT(PARAM_UNTIL))

static const struct {
	const char *pattern;
	unsigned methods;
	unsigned params;
} route__table[ROUTE__MAX] = {
	[ROUTE_HEALTH] = {"/api/health", ROUTE__GET | ROUTE__HEAD, 0},
	[ROUTE_DEVICES] = {"/api/devices", ROUTE__GET | ROUTE__HEAD, ROUTE__LIST | PARAM_BIT(PARAM_Q)},
	[ROUTE_DEVICE] = {"/api/devices/{codename}", ROUTE__GET | ROUTE__HEAD, 0},
	[ROUTE_DEVICE_RELEASES] = {"/api/devices/{codename}/releases", ROUTE__GET | ROUTE__HEAD,
				   ROUTE__LIST | ROUTE__FILTERS},
	[ROUTE_DEVICE_VERSION] = {"/api/devices/{codename}/releases/{branch}/{version}",
				  ROUTE__GET | ROUTE__HEAD, 0},
};

/* Matches one template against a path, segment by segment. */
static bool
route__try(const char *pattern, const char *path, struct arena *a, struct route_match *m)
{
	m->ncaptures = 0;
	while (*pattern != '\0' && *path != '\0') {
		if (*pattern != '/' || *path != '/')
			return false;
		pattern++, path++;
		const char *pend = strchrnul(pattern, '/');
		const char *send = strchrnul(path, '/');

		if (*pattern == '{') {
			if (send == path || m->ncaptures == ROUTE_MAX_CAPTURES)
				return false;
			m->captures[m->ncaptures] = http_decode(a, path, (size_t)(send - path), false);
			if (m->captures[m->ncaptures] == NULL)
				return false;
			m->ncaptures++;
		} else if (pend - pattern != send - path || memcmp(pattern, path, (size_t)(send - path)) != 0) {
			return false;
		}
		pattern = pend;
		path = send;
	}
	return *pattern == '\0' && *path == '\0';
}

enum route_id
route_match(const char *path, struct arena *a, struct route_match *m)
{
	for (int id = 0; id < ROUTE__MAX; id++) {
		if (route__try(route__table[id].pattern, path, a, m)) {
			m->id = (enum route_id)id;
			return m->id;
		}
	}
	m->id = ROUTE__MAX;
	m->ncaptures = 0;
	return ROUTE__MAX;
}

bool
route_method_allowed(enum route_id id, const char *method)
{
	if (id >= ROUTE__MAX)
		return false;
	if (strcmp(method, "GET") == 0)
		return route__table[id].methods & ROUTE__GET;
	if (strcmp(method, "HEAD") == 0)
		return route__table[id].methods & ROUTE__HEAD;
	return false;
}

const char *
route_allow(enum route_id id)
{
	(void)id; /* every route is read-only today */
	return "GET, HEAD";
}

unsigned
route_params(enum route_id id)
{
	return id < ROUTE__MAX ? route__table[id].params : 0;
}

const char *
route_pattern(enum route_id id)
{
	return id < ROUTE__MAX ? route__table[id].pattern : NULL;
}
