/* Router: which paths match which routes, captures, methods. */
#include "check.h"

#include "arena.h"
#include "http_semantics.h"
#include "params.h"
#include "router.h"

static enum route_id
match(struct arena *a, const char *path, struct route_match *m)
{
	return route_match(path, a, m);
}

int
main(void)
{
	struct arena *a = arena_new();
	struct route_match m;

	CHECK_INT(match(a, "/api/health", &m), ROUTE_HEALTH);
	CHECK_INT(m.ncaptures, 0);
	CHECK_INT(match(a, "/api/devices", &m), ROUTE_DEVICES);
	CHECK_INT(match(a, "/api/devices/cancro", &m), ROUTE_DEVICE);
	CHECK_INT(m.ncaptures, 1);
	CHECK_STR(m.captures[0], "cancro");
	CHECK_INT(match(a, "/api/devices/cancro/releases", &m), ROUTE_DEVICE_RELEASES);
	CHECK_STR(m.captures[0], "cancro");
	/* captures are percent-decoded */
	CHECK_INT(match(a, "/api/devices/%63ancro", &m), ROUTE_DEVICE);
	CHECK_STR(m.captures[0], "cancro");

	/* near misses */
	CHECK_INT(match(a, "/api/devices/", &m), ROUTE__MAX);
	CHECK_INT(match(a, "/api/devices//releases", &m), ROUTE__MAX);
	CHECK_INT(match(a, "/api/health/", &m), ROUTE__MAX);
	CHECK_INT(match(a, "/api/healthz", &m), ROUTE__MAX);
	CHECK_INT(match(a, "/api", &m), ROUTE__MAX);
	CHECK_INT(match(a, "/", &m), ROUTE__MAX);
	CHECK_INT(match(a, "", &m), ROUTE__MAX);
	CHECK_INT(match(a, "/api/devices/cancro/releases/extra", &m), ROUTE__MAX);
	CHECK_INT(match(a, "/API/health", &m), ROUTE__MAX);
	/* a capture that does not decode fails the match */
	CHECK_INT(match(a, "/api/devices/%zz", &m), ROUTE__MAX);
	CHECK_INT(match(a, "/api/devices/a%00b", &m), ROUTE__MAX);

	/* methods */
	CHECK(route_method_allowed(ROUTE_HEALTH, "GET"));
	CHECK(route_method_allowed(ROUTE_HEALTH, "HEAD"));
	CHECK(!route_method_allowed(ROUTE_HEALTH, "POST"));
	CHECK(!route_method_allowed(ROUTE_DEVICES, "DELETE"));
	CHECK(!route_method_allowed(ROUTE__MAX, "GET"));
	CHECK_STR(route_allow(ROUTE_DEVICE), "GET, HEAD, OPTIONS");
	CHECK(route_method_allowed(ROUTE_HEALTH, "OPTIONS"));
	CHECK_INT(match(a, "/api/releases/latest", &m), ROUTE_RELEASES_LATEST);
	CHECK_INT(match(a, "/api/releases/42", &m), ROUTE_RELEASE);
	CHECK_STR(m.captures[0], "42");
	CHECK_INT(match(a, "/api/releases/by-filename/a.zip", &m), ROUTE_RELEASE_BY_FILENAME);
	CHECK_STR(route_media(ROUTE_FEED)->types[0], "application/atom+xml");
	CHECK_STR(route_media(ROUTE_OPENAPI)->types[0], "application/yaml");
	/* releases are corrected after publication: no route lets a cache keep data longer than
	 * the lists' minute (issue 9), and health is never cached */
	CHECK_INT(route_max_age(ROUTE_HEALTH), 0);
	for (int id = 0; id < ROUTE__MAX; id++)
		CHECK(route_max_age((enum route_id)id) <= 60);
	CHECK_INT(route_max_age(ROUTE_RELEASE), 60);

	/* parameters per route */
	CHECK(route_params(ROUTE_DEVICES) & PARAM_BIT(PARAM_Q));
	CHECK(!(route_params(ROUTE_DEVICES) & PARAM_BIT(PARAM_BRANCH)));
	CHECK(route_params(ROUTE_DEVICE_RELEASES) & PARAM_BIT(PARAM_SINCE));
	CHECK_INT(route_params(ROUTE_HEALTH), 0);
	CHECK_STR(route_pattern(ROUTE_DEVICE_RELEASES), "/api/devices/{codename}/releases");

	arena_free(a);
	CHECK_DONE();
}
