/* The response cache: copies and what a change drops, the byte bound and its segmented LRU, the key made
 * from the decoded request, and which requests it admits. */
#include "check.h"

#include <stdio.h>

#include "arena.h"
#include "http.h"
#include "http_semantics.h"
#include "params.h"
#include "resp_cache.h"
#include "router.h"

/* Stores a 200 with the given body under key. */
static void
store_body(const char *key, const char *body)
{
	struct http_response res = {0};

	http_set_body(&res, 200, "application/json", body);
	resp_cache_store(key, &res, NULL);
}

/* Stores a 200 under key as the answer about one device (scope). */
static void
store_scoped(const char *key, const char *scope)
{
	struct http_response res = {0};

	http_set_body(&res, 200, "application/json", "{}");
	resp_cache_store(key, &res, scope);
}

static bool
cached(const char *key)
{
	struct http_response hit = {0};

	return resp_cache_lookup(key, &hit);
}

/* Decodes, routes and validates uri as app.c does, and returns its cache key; NULL when the
 * request is not valid or not admitted. */
static const char *
key_of(struct arena *a, const char *uri)
{
	struct http_request req = {.method = "GET", .uri = uri, .arena = a};
	struct route_match m;
	struct params p;
	struct params_error perr;
	const char *detail;

	if (http_parse_uri(&req, &detail) != RT_OK || !route_match(&req, a, &m) ||
	    !params_parse(&req, m.route->params, m.route->required, &p, &perr) || !resp_cache_admits(&m, &p))
		return NULL;
	return resp_cache_key(a, &m, &p, m.route->media->types[0]);
}

static void
test_copies_and_versions(struct arena *a)
{
	struct http_response res = {0}, hit = {0};

	resp_cache_init(48u * 1024 * 1024);
	http_set_body(&res, 200, "application/json", "{\"a\":1}");
	http_add_header(&res, "Link", "</next>; rel=\"next\"");
	res.etag = "\"e\"";
	resp_cache_store("/api/x?limit=1", &res, NULL);
	CHECK(resp_cache_lookup("/api/x?limit=1", &hit));
	CHECK_INT(hit.status, 200);
	CHECK_STR(hit.body, "{\"a\":1}");
	CHECK_INT(hit.body_len, 7);
	CHECK_STR(hit.etag, "\"e\"");
	CHECK_INT(hit.nheaders, 1);
	CHECK_STR(hit.headers[0].value, "</next>; rel=\"next\"");
	CHECK(!cached("/api/x?limit=2"));
	resp_cache_invalidate(""); /* nothing changed */
	CHECK(cached("/api/x?limit=1"));
	resp_cache_invalidate("*");
	CHECK(!cached("/api/x?limit=1"));
	CHECK_INT(resp_cache_count(), 0);
	CHECK_INT(resp_cache_bytes(), 0);
	/* storing a key again replaces its entry */
	store_body("/api/r", "{\"old\":1}");
	store_body("/api/r", "{\"new\":1}");
	CHECK(resp_cache_lookup("/api/r", &hit));
	CHECK_STR(hit.body, "{\"new\":1}");
	CHECK_INT(resp_cache_count(), 1);
	/* only 200s are kept */
	memset(&res, 0, sizeof res);
	http_problem(&res, a, RT_ERR_NOT_FOUND, "x", NULL);
	resp_cache_store("/api/y", &res, NULL);
	CHECK(!cached("/api/y"));
	resp_cache_free();
}

/* A change of some devices drops their answers and every answer not about one device; answers about other
 * devices stay. The rule is resp_cache.h's; the lists are as sql/012 writes them. */
static void
test_scoped_changes(void)
{
	resp_cache_init(1024 * 1024);
	store_scoped("/api/devices/zeus/latest", "zeus");
	store_scoped("/api/devices/zeus_pro/latest", "zeus_pro");
	store_scoped("/api/devices/cupid/latest", "cupid");
	store_scoped("/api/devices/sweet/latest", "sweet");
	store_scoped("/api/releases", NULL);
	resp_cache_invalidate("zeus");
	CHECK(!cached("/api/devices/zeus/latest"));
	CHECK(cached("/api/devices/zeus_pro/latest")); /* a name that starts like it is another device */
	CHECK(cached("/api/devices/cupid/latest"));
	CHECK(!cached("/api/releases"));
	CHECK_INT(resp_cache_count(), 3);
	/* several devices: the first, one in the middle, the last of the list */
	store_scoped("/api/devices/zeus/latest", "zeus");
	store_scoped("/api/devices/alioth/latest", "alioth");
	resp_cache_invalidate("alioth,cupid,zeus_pro");
	CHECK(!cached("/api/devices/alioth/latest") && !cached("/api/devices/cupid/latest"));
	CHECK(!cached("/api/devices/zeus_pro/latest"));
	CHECK(cached("/api/devices/zeus/latest") && cached("/api/devices/sweet/latest"));
	resp_cache_invalidate("*");
	CHECK_INT(resp_cache_count(), 0);
	resp_cache_free();
}

static void
test_bounds(void)
{
	static char body[1001];

	memset(body, 'x', 1000);
	/* a body over a sixteenth of the bound is not kept; a bound of 0 keeps nothing */
	resp_cache_init(16 * 1000 - 16);
	store_body("/api/big", body);
	CHECK(!cached("/api/big"));
	resp_cache_init(16 * 1000);
	store_body("/api/big", body);
	CHECK(cached("/api/big"));
	resp_cache_init(0);
	CHECK(!resp_cache_enabled() && !cached("/api/big"));
	store_body("/api/big", body);
	CHECK(!cached("/api/big"));

	/* the table grows past its first buckets: 20,000 entries, every one found again */
	resp_cache_init(64u * 1024 * 1024);
	for (int i = 0; i < 20000; i++) {
		char key[32];

		snprintf(key, sizeof key, "/api/k%d", i);
		store_body(key, "{}");
	}
	CHECK_INT(resp_cache_count(), 20000);
	{
		int found = 0;

		for (int i = 0; i < 20000; i++) {
			char key[32];

			snprintf(key, sizeof key, "/api/k%d", i);
			found += cached(key);
		}
		CHECK_INT(found, 20000);
	}

	/* Least recently used first, and never over the bound: with room for about 100 entries of
	 * 1000 bytes, 1,000 stores keep the newest; the first ones are gone. */
	resp_cache_init(100 * 1000 + 100 * 1000 / 2);
	for (int i = 0; i < 1000; i++) {
		char key[32];

		snprintf(key, sizeof key, "/api/n%d", i);
		store_body(key, body);
		CHECK(resp_cache_bytes() <= 150000);
	}
	CHECK(!cached("/api/n0"));
	CHECK(!cached("/api/n849")); /* over 150 entries back: more than the bound holds */
	CHECK(cached("/api/n999"));
	CHECK(resp_cache_count() > 50 && resp_cache_count() < 150);
	resp_cache_free();
}

/* What the issue saw: a stream of one-off entries must not push out entries in use. With room
 * for about 150 bodies, two hot entries asked for again (as hot URLs are) survive 100,000
 * one-off stores without being asked for in between; under a plain LRU, or the old "empty it
 * when full", they are gone after some 150. */
static void
test_scan_resistance(void)
{
	static char body[1001];
	int kept_oneoffs = 0;

	memset(body, 'y', 1000);
	resp_cache_init(150 * 1000 + 150 * 1000 / 2);
	store_body("/api/hot1", body);
	store_body("/api/hot2", body);
	CHECK(cached("/api/hot1") && cached("/api/hot2")); /* asked for a second time */
	for (int i = 0; i < 100000; i++) {
		char key[32];

		snprintf(key, sizeof key, "/api/search?q=%d", i);
		store_body(key, body);
	}
	CHECK(cached("/api/hot1"));
	CHECK(cached("/api/hot2"));
	/* the one-off entries still get the rest of the room, newest first */
	for (int i = 99990; i < 100000; i++) {
		char key[32];

		snprintf(key, sizeof key, "/api/search?q=%d", i);
		kept_oneoffs += cached(key);
	}
	CHECK_INT(kept_oneoffs, 10);
	CHECK(resp_cache_bytes() <= 225000);

	/* The protected segment has a share of the bound: entries hit once each, more than fit,
	 * leave the oldest-hit ones to be evicted first. */
	resp_cache_init(100 * 1200);
	for (int i = 0; i < 200; i++) {
		char key[32];

		snprintf(key, sizeof key, "/api/p%d", i);
		store_body(key, body);
		cached(key);
		CHECK(resp_cache_bytes() <= 100 * 1200);
	}
	CHECK(!cached("/api/p0"));
	CHECK(cached("/api/p199"));
	resp_cache_free();
}

/* Keys are written out here by hand from the rule in resp_cache.h: the canonical path (the
 * route's template with each capture percent-encoded in its place), parameters in table order (q, codename, region,
 * branch, type, version, android, family, since, until, current, limit, cursor), each value percent-encoded, then the
 * media type. */
static void
test_keys(struct arena *a)
{
	const char *latest = "/api/devices/zeus/latest?region=global&|application%2Fjson";
	const char *releases = "/api/devices/zeus/releases?region=global&branch=stable&limit=50&|application%2Fjson";

	resp_cache_init(1024 * 1024);
	CHECK_STR(key_of(a, "/api/devices/zeus/latest?region=global"), latest);
	/* percent-encoding in the path and in the query, + for nothing special here */
	CHECK_STR(key_of(a, "/api/devices/%7Aeus/latest?region=global"), latest);
	CHECK_STR(key_of(a, "/api/devices/%7a%65%75%73/latest?%72egion=glob%61l"), latest);
	CHECK_STR(key_of(a, "/api/devices/zeus/latest?&region=global&"), latest);
	/* parameter order, limit spelt with a zero, or left to its default */
	CHECK_STR(key_of(a, "/api/devices/zeus/releases?region=global&branch=stable"), releases);
	CHECK_STR(key_of(a, "/api/devices/zeus/releases?branch=stable&region=global"), releases);
	CHECK_STR(key_of(a, "/api/devices/zeus/releases?limit=050&branch=stable&region=global"), releases);
	CHECK_STR(key_of(a, "/api/devices/zeus/releases?limit=50&region=global&branch=st%61ble"), releases);
	/* other requests, other keys */
	CHECK_STR(key_of(a, "/api/devices/zeus/releases?limit=5&region=global&branch=stable"),
		  "/api/devices/zeus/releases?region=global&branch=stable&limit=5&|application%2Fjson");
	CHECK_STR(key_of(a, "/api/devices/Zeus/latest?region=global"),
		  "/api/devices/Zeus/latest?region=global&|application%2Fjson");
	CHECK_STR(key_of(a, "/api/devices/zeus/latest"), "/api/devices/zeus/latest?|application%2Fjson");
	CHECK_STR(key_of(a, "/api/devices/zeus"), "/api/devices/zeus?|application%2Fjson");
	CHECK_STR(key_of(a, "/api/releases/by-filename/a%2Bb.zip"),
		  "/api/releases/by-filename/a%2Bb.zip?|application%2Fjson");
	CHECK_STR(key_of(a, "/api/releases?codename=a,b&since=2024-01-01"),
		  "/api/releases?codename=a%2Cb&since=2024-01-01&limit=50&|application%2Fjson");
	CHECK_STR(key_of(a, "/api/feed.atom?limit=7"), "/api/feed.atom?limit=7&|application%2Fatom%2Bxml");
	/* a separator inside a value is encoded, so it cannot forge another request's key: a
	 * capture with '/', '?' or '|' is not a path of more segments, a query or a media type */
	CHECK_STR(key_of(a, "/api/devices/a%2Freleases/releases/stable/1.0"),
		  "/api/devices/a%2Freleases/releases/stable/1.0?|application%2Fjson");
	CHECK_STR(key_of(a, "/api/devices/a/releases/b%7Cstable/1.0%3Fx"),
		  "/api/devices/a/releases/b%7Cstable/1.0%3Fx?|application%2Fjson");

	/* not admitted: free-text search and the version filter (unbounded, see params.c), health */
	CHECK(key_of(a, "/api/devices?q=zeus") == NULL);
	CHECK(key_of(a, "/api/devices/zeus/releases?version=V14.0.1.0.TLBMIXM") == NULL);
	CHECK(key_of(a, "/api/health") == NULL);
	CHECK(key_of(a, "/api/devices") != NULL);
	CHECK(key_of(a, "/api/devices/zeus/updates?current=V14.0.1.0.TLBMIXM") != NULL);
	resp_cache_init(0);
	CHECK(key_of(a, "/api/devices") == NULL);
	resp_cache_free();
}

int
main(void)
{
	struct arena *a = arena_new();

	test_copies_and_versions(a);
	test_scoped_changes();
	test_bounds();
	test_scan_resistance();
	test_keys(a);
	arena_free(a);
	CHECK_DONE();
}
