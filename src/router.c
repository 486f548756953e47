/* Routing by a static table of path templates; "{name}" matches one non-empty segment. */
#include "router.h"

#include <string.h>

#include "http.h"
#include "http_semantics.h"
#include "params.h"

#define ROUTE__GET 1u
#define ROUTE__HEAD 2u
#define ROUTE__OPTIONS 4u /* CORS preflight */
#define ROUTE__READ (ROUTE__GET | ROUTE__HEAD | ROUTE__OPTIONS)

/* What each kind of route can send (http_negotiate). The feeds are Atom, a correct body
 * for a client that asks for XML too; a client that asks for another feed format (RSS)
 * gets Atom, which feed readers read. The contract is YAML under each of its names. */
static const struct http_media route__json = {(const char *const[]){"application/json", NULL}, NULL};
static const struct http_media route__atom = {
	(const char *const[]){"application/atom+xml", "application/xml", "text/xml", NULL},
	(const char *const[]){"application/rss+xml", "application/rdf+xml", "application/x-atom+xml",
			      "application/x-rss+xml", NULL},
};
static const struct http_media route__yaml = {
	(const char *const[]){"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", NULL}, NULL};
#define ROUTE__JSON (&route__json)
#define ROUTE__ATOM (&route__atom)

#define ROUTE__LIST (PARAM_BIT(PARAM_LIMIT) | PARAM_BIT(PARAM_CURSOR))
#define ROUTE__VARIANT (PARAM_BIT(PARAM_REGION) | PARAM_BIT(PARAM_BRANCH) | PARAM_BIT(PARAM_TYPE))
#define ROUTE__FILTERS                                                                   \
	(ROUTE__VARIANT | PARAM_BIT(PARAM_VERSION) | PARAM_BIT(PARAM_ANDROID) |          \
	 PARAM_BIT(PARAM_SINCE) | PARAM_BIT(PARAM_UNTIL))
#define ROUTE__ALL_RELEASES                                                              \
	(ROUTE__VARIANT | PARAM_BIT(PARAM_CODENAME) | PARAM_BIT(PARAM_ANDROID) |         \
	 PARAM_BIT(PARAM_FAMILY) | PARAM_BIT(PARAM_SINCE) | PARAM_BIT(PARAM_UNTIL))

static const struct {
	const char *pattern;
	unsigned methods;
	unsigned params;
	const struct http_media *media;
	/* at most a minute for all data, single releases included: they are corrected after
	 * publication, and a shared cache must see a correction as soon as the lists show it */
	int max_age;
} route__table[ROUTE__MAX] = {
	[ROUTE_HEALTH] = {"/api/health", ROUTE__READ, 0, ROUTE__JSON, 0},
	[ROUTE_DEVICES] = {"/api/devices", ROUTE__READ, ROUTE__LIST | PARAM_BIT(PARAM_Q), ROUTE__JSON, 60},
	[ROUTE_DEVICE] = {"/api/devices/{codename}", ROUTE__READ, 0, ROUTE__JSON, 60},
	[ROUTE_DEVICE_RELEASES] = {"/api/devices/{codename}/releases", ROUTE__READ, ROUTE__LIST | ROUTE__FILTERS,
				   ROUTE__JSON, 60},
	[ROUTE_DEVICE_VERSION] = {"/api/devices/{codename}/releases/{branch}/{version}", ROUTE__READ, 0,
				  ROUTE__JSON, 60},
	[ROUTE_DEVICE_LATEST] = {"/api/devices/{codename}/latest", ROUTE__READ, ROUTE__VARIANT, ROUTE__JSON, 60},
	[ROUTE_DEVICE_UPDATES] = {"/api/devices/{codename}/updates", ROUTE__READ,
				  ROUTE__VARIANT | PARAM_BIT(PARAM_CURRENT), ROUTE__JSON, 60},
	[ROUTE_DEVICE_FEED] = {"/api/devices/{codename}/feed.atom", ROUTE__READ, ROUTE__VARIANT | PARAM_BIT(PARAM_LIMIT),
			       ROUTE__ATOM, 60},
	[ROUTE_RELEASES] = {"/api/releases", ROUTE__READ, ROUTE__LIST | ROUTE__ALL_RELEASES, ROUTE__JSON, 60},
	[ROUTE_RELEASES_LATEST] = {"/api/releases/latest", ROUTE__READ, ROUTE__LIST | ROUTE__VARIANT, ROUTE__JSON,
				   60},
	[ROUTE_RELEASE] = {"/api/releases/{id}", ROUTE__READ, 0, ROUTE__JSON, 60},
	[ROUTE_RELEASE_BY_FILENAME] = {"/api/releases/by-filename/{filename}", ROUTE__READ, 0, ROUTE__JSON, 60},
	[ROUTE_REGIONS] = {"/api/regions", ROUTE__READ, 0, ROUTE__JSON, 60},
	[ROUTE_BRANCHES] = {"/api/branches", ROUTE__READ, 0, ROUTE__JSON, 60},
	[ROUTE_FEED] = {"/api/feed.atom", ROUTE__READ, ROUTE__ALL_RELEASES | PARAM_BIT(PARAM_LIMIT), ROUTE__ATOM, 60},
	[ROUTE_OPENAPI] = {"/api/openapi.yaml", ROUTE__READ, 0, &route__yaml, 60},
};

/* Routes whose answers the response cache must not keep: health reports the database's state now. */
static const bool route__uncached[ROUTE__MAX] = {[ROUTE_HEALTH] = true};

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
	if (strcmp(method, "OPTIONS") == 0)
		return route__table[id].methods & ROUTE__OPTIONS;
	return false;
}

const char *
route_allow(enum route_id id)
{
	(void)id; /* every route is read-only today */
	return "GET, HEAD, OPTIONS";
}

const struct http_media *
route_media(enum route_id id)
{
	return id < ROUTE__MAX ? route__table[id].media : ROUTE__JSON;
}

int
route_max_age(enum route_id id)
{
	return id < ROUTE__MAX ? route__table[id].max_age : 0;
}

bool
route_cacheable(enum route_id id)
{
	return id < ROUTE__MAX && !route__uncached[id];
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
