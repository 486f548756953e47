/* Query parsing and parameter validation. */
#include "check.h"

#include "arena.h"
#include "http.h"
#include "params.h"
#include "router.h"

static struct arena *arena;

/* Parses uri and validates it for the device releases route; returns the error or RT_OK. */
static enum rt_err
parse(const char *uri, struct params *p, struct params_error *perr)
{
	struct http_request req = {.method = "GET", .uri = uri, .arena = arena};
	const char *detail;
	enum rt_err err = http_parse_uri(&req, &detail);
	const struct route *route = route_find("/api/devices/{codename}/releases");

	if (err != RT_OK)
		return err;
	if (!params_parse(&req, route->params, route->required, p, perr))
		return perr->err;
	return RT_OK;
}

int
main(void)
{
	struct params p = {0}; /* read even when a parse fails before it fills them (scan-build) */
	struct params_error e = {0};

	arena = arena_new();
	CHECK_INT(parse("/x", &p, &e), RT_OK);
	CHECK_INT(p.limit, 50);
	CHECK(p.value[PARAM_BRANCH] == NULL);

	CHECK_INT(parse("/x?limit=500&branch=stable-beta&region=eea&type=fastboot", &p, &e), RT_OK);
	CHECK_INT(p.limit, 500);
	CHECK_STR(p.value[PARAM_BRANCH], "stable-beta");
	CHECK_STR(params_filter_query(&p, arena), "region=eea&branch=stable-beta&type=fastboot");

	/* limit */
	CHECK_INT(parse("/x?limit=abc", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_STR(e.parameter, "limit");
	CHECK_STR(e.detail, "limit must be an integer from 1 to 500, not \"abc\"");
	CHECK_INT(parse("/x?limit=100000", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?limit=0", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?limit=-1", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?limit=1", &p, &e), RT_OK);
	CHECK_INT(parse("/x?limit=", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?limit=99999999999999999999", &p, &e), RT_ERR_INVALID_PARAMETER);

	/* enumerations */
	CHECK_INT(parse("/x?branch=nightly", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_STR(e.parameter, "branch");
	CHECK_INT(parse("/x?branch=Stable", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?region=mars", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?type=ota", &p, &e), RT_ERR_INVALID_PARAMETER);

	/* dates */
	CHECK_INT(parse("/x?since=2017-13-45", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_STR(e.parameter, "since");
	CHECK_INT(parse("/x?since=2017-02-29", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?since=2016-02-29", &p, &e), RT_OK);
	CHECK_INT(parse("/x?until=2017-3-1", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?since=2020-01-02&until=2020-01-01", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?since=2020-01-01&until=2020-01-01", &p, &e), RT_OK);

	/* android, version */
	CHECK_INT(parse("/x?android=11", &p, &e), RT_OK);
	CHECK_INT(parse("/x?android=8.1", &p, &e), RT_OK);
	CHECK_INT(parse("/x?android=8.", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?android=eleven", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?android=123", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?version=V12.5.3.0.RKHMIXM", &p, &e), RT_OK);
	CHECK_INT(parse("/x?version=a%20b", &p, &e), RT_ERR_INVALID_PARAMETER);

	/* unknown, repeated, malformed */
	CHECK_INT(parse("/x?foo=1", &p, &e), RT_ERR_UNKNOWN_PARAMETER);
	CHECK_STR(e.parameter, "foo");
	CHECK_INT(parse("/x?q=cancro", &p, &e), RT_ERR_UNKNOWN_PARAMETER); /* q is for /api/devices only */
	CHECK_INT(parse("/x?limit=1&limit=2", &p, &e), RT_ERR_INVALID_PARAMETER);
	CHECK_INT(parse("/x?version=%FF", &p, &e), RT_ERR_BAD_REQUEST);
	CHECK_INT(parse("/x?version=a%00b", &p, &e), RT_ERR_BAD_REQUEST);
	CHECK_INT(parse("/x?version=%4", &p, &e), RT_ERR_BAD_REQUEST);
	CHECK_INT(parse("/x?version=%C0%AF", &p, &e), RT_ERR_BAD_REQUEST);    /* overlong UTF-8 */
	CHECK_INT(parse("/x?version=%ED%A0%80", &p, &e), RT_ERR_BAD_REQUEST); /* surrogate */
	CHECK_INT(parse("/x?cursor=not%20a%20cursor", &p, &e), RT_ERR_INVALID_CURSOR);
	CHECK_INT(parse("/x?&&limit=3&", &p, &e), RT_OK); /* empty pairs are skipped */
	CHECK_INT(p.limit, 3);

	/* long URIs */
	{
		static char uri[HTTP_MAX_URI + 2];

		memset(uri, 'a', sizeof uri - 1);
		uri[0] = '/';
		uri[sizeof uri - 1] = '\0';
		CHECK_INT(parse(uri, &p, &e), RT_ERR_URI_TOO_LONG);
		uri[HTTP_MAX_URI] = '\0';
		CHECK_INT(parse(uri, &p, &e), RT_OK);
	}

	/* codenames and dates */
	CHECK(params_codename_valid("alioth_global"));
	CHECK(params_codename_valid("HM2013023"));
	CHECK(!params_codename_valid(""));
	CHECK(!params_codename_valid("a-b"));
	CHECK(!params_codename_valid("../etc"));
	CHECK(params_date_valid("2000-02-29"));
	CHECK(!params_date_valid("1900-02-29"));
	CHECK(!params_date_valid("2017-04-31"));
	CHECK(!params_date_valid("0000-01-01"));

	arena_free(arena);
	CHECK_DONE();
}
