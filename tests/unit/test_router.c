/* Router: which paths match which routes, captures and their validators, methods. */
#include "check.h"

#include <string.h>

#include "arena.h"
#include "http_semantics.h"
#include "params.h"
#include "router.h"

/* The pattern of the route the path matches; "" when none does (or the path does not parse). */
static const char *
match(struct arena *a, const char *path, struct route_match *m)
{
	struct http_request req = {.method = "GET", .uri = path, .arena = a};
	const char *detail;

	memset(m, 0, sizeof *m);
	if (http_parse_uri(&req, &detail) != RT_OK || !route_match(&req, a, m))
		return "";
	return m->route->pattern;
}

/* The row a request with the method matches. */
static const struct route *
match_method(struct arena *a, const char *method, const char *path)
{
	struct http_request req = {.method = method, .uri = path, .arena = a};
	struct route_match m;
	const char *detail;

	if (http_parse_uri(&req, &detail) != RT_OK || !route_match(&req, a, &m))
		return NULL;
	return m.route;
}

/* Writes (issue 11): several rows per path, each with its methods. */
static void
test_write_rows(struct arena *a)
{
	const struct route *read = route_find("/api/releases"), *post = route_find_method("/api/releases", "POST");

	CHECK(post != NULL && post != read);
	CHECK(match_method(a, "GET", "/api/releases") == read);
	CHECK(match_method(a, "HEAD", "/api/releases") == read);
	CHECK(match_method(a, "OPTIONS", "/api/releases") == read);
	CHECK(match_method(a, "POST", "/api/releases") == post);
	/* no row takes it: the first row, which refuses it (405) */
	CHECK(match_method(a, "PUT", "/api/releases") == read);
	CHECK(!route_method_allowed(read, "PUT"));
	CHECK(match_method(a, "post", "/api/releases") == read); /* method names are case-sensitive */
	/* Allow: every row of the path */
	CHECK_STR(route_allow(read), "GET, HEAD, OPTIONS, POST");
	CHECK_STR(route_allow(post), "GET, HEAD, OPTIONS, POST");
	CHECK_STR(route_allow(route_find("/api/releases/latest")), "GET, HEAD, OPTIONS");
	/* a literal segment still comes before a capture, whatever the method */
	CHECK(match_method(a, "POST", "/api/releases/latest") == route_find("/api/releases/latest"));
	CHECK_INT(route_method_bit("GET"), ROUTE_GET);
	CHECK_INT(route_method_bit("DELETE"), ROUTE_DELETE);
	CHECK_INT(route_method_bit("PATCH"), ROUTE_PATCH);
	CHECK_INT(route_method_bit("TRACE"), 0);
	/* reads are public and take no body; a write names its scope and what its body may be */
	for (size_t i = 0; i < route_count(); i++) {
		const struct route *r = route_at(i);
		bool writes = (r->methods & (ROUTE_POST | ROUTE_PUT | ROUTE_PATCH | ROUTE_DELETE)) != 0;

		CHECK(writes || r->accepts == NULL);
		CHECK(!writes || r->scope != NULL);
		CHECK(!writes || (r->methods & (ROUTE_GET | ROUTE_HEAD)) == 0); /* a write row is a row of its own */
		CHECK(!writes || r->max_age == 0);
		/* the rows of one path take disjoint methods */
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(route_at(j)->pattern, r->pattern) != 0 ||
			      (route_at(j)->methods & r->methods) == 0);
	}
	CHECK_STR(post->scope, "releases:write");
	CHECK_STR(post->accepts[0], "application/json");
}

/* The parameter a path is refused for ("" when its captures are valid). */
static const char *
refused(struct arena *a, const char *path)
{
	struct route_match m;
	struct params_error perr;

	CHECK(match(a, path, &m)[0] != '\0');
	if (m.route == NULL)
		return "(no route)";
	if (route_check_path(&m, a, &perr))
		return "";
	CHECK_INT(perr.err, RT_ERR_INVALID_PARAMETER);
	CHECK(strstr(perr.detail, " must be ") != NULL);
	return perr.parameter;
}

static void
test_captures(struct arena *a)
{
	struct route_match m;
	struct params_error perr;

	CHECK_STR(match(a, "/api/devices/cancro/releases/stable-beta/V12.5.1.0.RJBCNXM", &m),
		  "/api/devices/{codename}/releases/{branch}/{version}");
	CHECK(route_check_path(&m, a, &perr));
	CHECK_STR(m.path.codename, "cancro");
	CHECK_INT(m.path.branch, DOM_BRANCH_STABLE_BETA);
	CHECK_STR(m.path.version, "V12.5.1.0.RJBCNXM");
	CHECK_STR(match(a, "/api/releases/123456789012345678", &m), "/api/releases/{id}");
	CHECK(route_check_path(&m, a, &perr));
	CHECK(m.path.id == 123456789012345678LL);
	CHECK_STR(match(a, "/api/releases/by-filename/miui_X_1.zip", &m), "/api/releases/by-filename/{filename}");
	CHECK(route_check_path(&m, a, &perr));
	CHECK_STR(m.path.filename, "miui_X_1.zip");

	/* each capture refused by its own validator, named as the parameter */
	CHECK_STR(refused(a, "/api/devices/can-cro"), "codename");
	CHECK_STR(refused(a, "/api/devices/cancro/releases/nightly/V1"), "branch");
	CHECK_STR(refused(a, "/api/devices/cancro/releases/stable/V1%20X"), "version");
	CHECK_STR(refused(a, "/api/releases/0"), "id");
	CHECK_STR(refused(a, "/api/releases/-1"), "id");
	CHECK_STR(refused(a, "/api/releases/1234567890123456789"), "id"); /* past 18 digits */
	CHECK_STR(refused(a, "/api/releases/by-filename/a%2Fb"), "filename");
	CHECK_STR(refused(a, "/api/devices/cancro"), "");

	/* the canonical path: captures encoded again, one spelling for all */
	CHECK_STR(match(a, "/api/devices/%63ancro/releases", &m), "/api/devices/{codename}/releases");
	CHECK_STR(m.canonical_path, "/api/devices/cancro/releases");
	CHECK_STR(match(a, "/api/releases/by-filename/a%2Fb", &m), "/api/releases/by-filename/{filename}");
	CHECK_STR(m.canonical_path, "/api/releases/by-filename/a%2Fb");

	/* every row has a handler: app.c calls it without asking */
	for (size_t i = 0; i < route_count(); i++)
		CHECK(route_at(i)->handler != NULL);

	/* every capture of every pattern has a validator: a valid value passes each route's check */
	for (size_t i = 0; i < route_count(); i++) {
		const char *t = route_at(i)->pattern, *path = "";

		while (*t != '\0') {
			const char *open = strchr(t, '{');

			if (open == NULL) {
				path = arena_printf(a, "%s%s", path, t);
				break;
			}
			path = arena_printf(a, "%s%.*s%s", path, (int)(open - t), t,
					    strncmp(open, "{branch}", 8) == 0 ? "stable" : "7");
			t = strchr(open, '}') + 1;
		}
		CHECK_STR(refused(a, path), "");
	}
}

int
main(void)
{
	struct arena *a = arena_new();
	struct route_match m;

	CHECK_STR(match(a, "/api/health", &m), "/api/health");
	CHECK_INT(m.ncaptures, 0);
	CHECK_STR(match(a, "/api/devices", &m), "/api/devices");
	CHECK_STR(match(a, "/api/devices/cancro", &m), "/api/devices/{codename}");
	CHECK_INT(m.ncaptures, 1);
	CHECK_STR(m.captures[0], "cancro");
	CHECK_STR(match(a, "/api/devices/cancro/releases", &m), "/api/devices/{codename}/releases");
	CHECK_STR(m.captures[0], "cancro");
	/* captures are percent-decoded */
	CHECK_STR(match(a, "/api/devices/%63ancro", &m), "/api/devices/{codename}");
	CHECK_STR(m.captures[0], "cancro");

	/* a capture with a suffix in its segment takes the segment without it */
	CHECK_STR(match(a, "/api/xfu/rss/alioth.xml", &m), "/api/xfu/rss/{codename}.xml");
	CHECK_INT(m.ncaptures, 1);
	CHECK_STR(m.captures[0], "alioth");
	CHECK_STR(m.canonical_path, "/api/xfu/rss/alioth.xml");
	CHECK_STR(match(a, "/api/xfu/rss/a.xml.xml", &m), "/api/xfu/rss/{codename}.xml");
	CHECK_STR(m.captures[0], "a.xml");                  /* then refused by the codename's validator */
	CHECK_STR(match(a, "/api/xfu/rss/.xml", &m), "");   /* an empty capture */
	CHECK_STR(match(a, "/api/xfu/rss/alioth", &m), ""); /* no suffix */
	CHECK_STR(match(a, "/api/xfu/rss/alioth.XML", &m), "");
	CHECK_STR(match(a, "/api/xfu/rss/xml", &m), "");

	/* near misses */
	CHECK_STR(match(a, "/api/devices/", &m), "");
	CHECK_STR(match(a, "/api/devices//releases", &m), "");
	CHECK_STR(match(a, "/api/health/", &m), "");
	CHECK_STR(match(a, "/api/healthz", &m), "");
	CHECK_STR(match(a, "/api", &m), "");
	CHECK_STR(match(a, "/", &m), "");
	CHECK_STR(match(a, "", &m), "");
	CHECK_STR(match(a, "api/health", &m), "");
	CHECK_STR(match(a, "/api/devices/cancro/releases/extra", &m), "");
	CHECK_STR(match(a, "/API/health", &m), "");
	/* a capture that does not decode fails the match */
	CHECK_STR(match(a, "/api/devices/%zz", &m), "");
	CHECK_STR(match(a, "/api/devices/a%00b", &m), "");

	/* methods */
	CHECK(route_method_allowed(route_find("/api/health"), "GET"));
	CHECK(route_method_allowed(route_find("/api/health"), "HEAD"));
	CHECK(!route_method_allowed(route_find("/api/health"), "POST"));
	CHECK(!route_method_allowed(route_find("/api/devices"), "DELETE"));
	CHECK(!route_method_allowed(NULL, "GET"));
	CHECK_STR(route_allow(route_find("/api/devices/{codename}")), "GET, HEAD, OPTIONS");
	CHECK(route_method_allowed(route_find("/api/health"), "OPTIONS"));
	CHECK_STR(match(a, "/api/releases/latest", &m), "/api/releases/latest");
	CHECK_STR(match(a, "/api/releases/42", &m), "/api/releases/{id}");
	CHECK_STR(m.captures[0], "42");
	CHECK_STR(match(a, "/api/releases/by-filename/a.zip", &m), "/api/releases/by-filename/{filename}");
	CHECK_STR(route_find("/api/feed.atom")->media->types[0], "application/atom+xml");
	CHECK_STR(route_find("/api/openapi.yaml")->media->types[0], "application/yaml");
	/* releases are corrected after publication: no route lets a cache keep data longer than
	 * the lists' minute (issue 9), and health is never cached */
	CHECK_INT(route_find("/api/health")->max_age, 0);
	CHECK(route_find("/api/health")->flags & ROUTE_LIVE);
	for (size_t i = 0; i < route_count(); i++)
		CHECK(route_at(i)->max_age <= 60);
	CHECK_INT(route_find("/api/releases/{id}")->max_age, 60);
	CHECK(route_at(route_count()) == NULL);
	CHECK(route_find("/api/nothing") == NULL);

	/* parameters per route */
	CHECK(route_find("/api/devices")->params & PARAM_BIT(PARAM_Q));
	CHECK(!(route_find("/api/devices")->params & PARAM_BIT(PARAM_BRANCH)));
	CHECK(route_find("/api/devices/{codename}/releases")->params & PARAM_BIT(PARAM_SINCE));
	CHECK_INT(route_find("/api/health")->params, 0);
	CHECK(route_find("/api/devices/{codename}/updates")->required & PARAM_BIT(PARAM_CURRENT));

	test_captures(a);
	test_write_rows(a);
	arena_free(a);
	CHECK_DONE();
}
