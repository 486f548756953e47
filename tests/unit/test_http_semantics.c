/* Content negotiation, entity tags and conditional requests. */
#include "check.h"

#include "arena.h"
#include "http.h"
#include "http_semantics.h"

int
main(void)
{
	struct arena *a = arena_new();
	struct http_request req = {.method = "GET", .uri = "/x", .arena = a};
	struct http_response res = {0};
	const char *etag;

	/* Accept */
	CHECK(http_accepts(NULL, "application/json"));
	CHECK(http_accepts("", "application/json"));
	CHECK(http_accepts("*/*", "application/json"));
	CHECK(http_accepts("application/*", "application/json"));
	CHECK(http_accepts("application/json", "application/json"));
	CHECK(http_accepts("APPLICATION/JSON", "application/json"));
	CHECK(http_accepts("text/html, application/json;q=0.5", "application/json"));
	CHECK(http_accepts("text/html;q=0.9, */*;q=0.1", "application/json"));
	CHECK(!http_accepts("text/html", "application/json"));
	CHECK(!http_accepts("application/json;q=0", "application/json"));
	CHECK(!http_accepts("application/json;q=0, */*", "application/json")); /* the specific range decides */
	CHECK(!http_accepts("application/xml", "application/json"));
	CHECK(!http_accepts("application/jsonx", "application/json"));
	CHECK(http_accepts("application/atom+xml", "application/atom+xml"));
	CHECK(!http_accepts("application/json", "application/atom+xml"));

	/* negotiation among labels (issue 9): feed readers ask for RSS or XML, YAML has four names */
	{
		const struct http_media feed = {
			(const char *const[]){"application/atom+xml", "application/xml", "text/xml", NULL},
			(const char *const[]){"application/rss+xml", NULL},
		};
		const struct http_media json = {(const char *const[]){"application/json", NULL}, NULL};

		CHECK_STR(http_negotiate(NULL, &feed), "application/atom+xml");
		CHECK_STR(http_negotiate(" ", &feed), "application/atom+xml");
		CHECK_STR(http_negotiate("*/*", &feed), "application/atom+xml");
		CHECK_STR(http_negotiate("application/atom+xml", &feed), "application/atom+xml");
		CHECK_STR(http_negotiate("application/xml", &feed), "application/xml");
		CHECK_STR(http_negotiate("text/xml", &feed), "text/xml");
		CHECK_STR(http_negotiate("text/*", &feed), "text/xml");
		/* the highest q wins, the earlier label on a tie */
		CHECK_STR(http_negotiate("text/xml, application/atom+xml;q=0.5", &feed), "text/xml");
		CHECK_STR(http_negotiate("text/xml, application/xml", &feed), "application/xml");
		/* a browser's Accept: application/xml at 0.9 beats any type at 0.8 */
		CHECK_STR(http_negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", &feed),
			  "application/xml");
		/* rss-parser's default: Atom, Accept disregarded (RFC 9110, 12.5.1) */
		CHECK_STR(http_negotiate("application/rss+xml", &feed), "application/atom+xml");
		CHECK_STR(http_negotiate("application/rss+xml, application/rdf+xml;q=0.8", &feed),
			  "application/atom+xml");
		CHECK_STR(http_negotiate("application/rss+xml;q=0", &feed), NULL);
		CHECK_STR(http_negotiate("application/json", &feed), NULL);
		CHECK_STR(http_negotiate("text/html", &feed), NULL);
		CHECK_STR(http_negotiate("application/xml;q=0, application/atom+xml;q=0, text/xml;q=0", &feed), NULL);
		CHECK_STR(http_negotiate("application/json", &json), "application/json");
		CHECK_STR(http_negotiate("application/xml", &json), NULL);
		CHECK_STR(http_negotiate("application/rss+xml", &json), NULL);
	}

	/* Host headers that may become a link, and those that must not (issue 9) */
	CHECK(http_host_valid("example.org"));
	CHECK(http_host_valid("127.0.0.1:8080"));
	CHECK(http_host_valid("[::1]:8080"));
	CHECK(http_host_valid("Roms.Example-1.org."));
	CHECK(!http_host_valid(NULL));
	CHECK(!http_host_valid(""));
	CHECK(!http_host_valid("evil.org/\"><script>"));
	CHECK(!http_host_valid("evil.org\"onload=\""));
	CHECK(!http_host_valid("a b"));
	CHECK(!http_host_valid("user@evil.org"));
	CHECK(!http_host_valid("example.org:80:80"));
	CHECK(!http_host_valid("example.org:"));
	CHECK(!http_host_valid("example.org:123456"));
	CHECK(!http_host_valid(".example.org"));
	CHECK(!http_host_valid("a..b"));
	CHECK(!http_host_valid("[]"));
	CHECK(!http_host_valid("[::1"));
	{
		struct http_request r = {.arena = a, .scheme = "https", .host = "roms.example.org"};

		CHECK_STR(http_request_base_url(&r), "https://roms.example.org");
		r.scheme = "gopher"; /* only http and https */
		CHECK_STR(http_request_base_url(&r), "http://roms.example.org");
		r.host = "x\"><a href=//evil>";
		r.server_addr = "127.0.0.1";
		r.server_port = "8080";
		CHECK_STR(http_request_base_url(&r), "http://127.0.0.1:8080");
		r.server_addr = "::1";
		CHECK_STR(http_request_base_url(&r), "http://[::1]:8080");
		r.host = NULL;
		r.server_addr = NULL;
		CHECK_STR(http_request_base_url(&r), "http://localhost");
	}

	/* entity tags: strong, quoted, stable for a body */
	etag = http_etag(a, "abc", 3);
	CHECK(strlen(etag) == 18 && etag[0] == '"' && etag[17] == '"');
	CHECK_STR(http_etag(a, "abc", 3), etag);
	CHECK(strcmp(http_etag(a, "abd", 3), etag) != 0);
	CHECK(http_etag_matches(etag, etag));
	CHECK(http_etag_matches(arena_printf(a, "\"0000000000000000\", %s", etag), etag));
	CHECK(http_etag_matches(arena_printf(a, "W/%s", etag), etag)); /* weak comparison */
	CHECK(http_etag_matches("*", etag));
	CHECK(!http_etag_matches("\"0000000000000000\"", etag));
	CHECK(!http_etag_matches(NULL, etag));
	CHECK(!http_etag_matches("", etag));

	/* finishing: 200 gets a tag and caching; a matching If-None-Match becomes a bodiless 304 */
	http_set_body(&res, 200, "application/json", "{}");
	http_finish(&req, &res, 60);
	CHECK_INT(res.status, 200);
	CHECK_STR(res.etag, http_etag(a, "{}", 2));
	req.if_none_match = res.etag;
	memset(&res, 0, sizeof res);
	http_set_body(&res, 200, "application/json", "{}");
	http_finish(&req, &res, 60);
	CHECK_INT(res.status, 304);
	CHECK(res.body == NULL && res.body_len == 0 && res.content_type == NULL);
	/* any cache revalidates within max_age, may serve stale while it does or while romtrack is down */
	{
		const char *cc = NULL;

		for (size_t i = 0; i < res.nheaders; i++)
			if (strcmp(res.headers[i].name, "Cache-Control") == 0)
				cc = res.headers[i].value;
		CHECK_STR(cc, "public, max-age=60, stale-while-revalidate=30, stale-if-error=86400");
	}
	/* a header past the limit is never dropped silently: the response becomes a 500 (issue 9) */
	memset(&res, 0, sizeof res);
	http_set_body(&res, 200, "application/json", "{}");
	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		http_add_header(&res, "X-Filler", "1");
	CHECK_STR(res.dropped_header, NULL);
	http_add_header(&res, "X-Last", "1");
	CHECK_STR(res.dropped_header, "X-Last");
	http_finish(&req, &res, 60);
	CHECK_INT(res.status, 500);
	CHECK_STR(res.content_type, "application/problem+json");
	CHECK(res.body != NULL && strstr(res.body, "more headers") != NULL);
	/* headers that fit but push http_finish's own over the limit: the same */
	memset(&res, 0, sizeof res);
	http_set_body(&res, 200, "application/json", "{}");
	for (int i = 0; i < HTTP_MAX_HEADERS - 1; i++)
		http_add_header(&res, "X-Filler", "1");
	http_finish(&req, &res, 60);
	CHECK_INT(res.status, 500);
	req.if_none_match = NULL;

	/* errors are never revalidated, and not stored */
	memset(&res, 0, sizeof res);
	http_problem(&res, a, RT_ERR_NOT_FOUND, "x", NULL);
	http_finish(&req, &res, 60);
	CHECK_INT(res.status, 404);

	/* HTTP-dates: the three forms of RFC 9110, 5.6.7, and nothing else */
	{
		const time_t rfc_example = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
		time_t t = 0;

		CHECK(http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", &t) && t == rfc_example);
		/* RFC 850's two-digit year: 25 is 2025 until 2075 (more than 50 years ahead: a century back) */
		CHECK(http_parse_date("Thursday, 06-Nov-25 08:49:37 GMT", &t) && t == 1762418977);
		CHECK(http_parse_date("Sun Nov  6 08:49:37 1994", &t) && t == rfc_example);
		CHECK(!http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT and more", &t));
		CHECK(!http_parse_date("Sun, 06 Nov 1994 08:49:37", &t));
		CHECK(!http_parse_date("1994-11-06T08:49:37Z", &t));
		CHECK(!http_parse_date("yesterday", &t));
		CHECK(!http_parse_date("", &t));
		CHECK(!http_parse_date(NULL, &t));
	}

	/* If-Modified-Since against Last-Modified; If-None-Match, when present, decides alone */
	{
		static const struct {
			const char *if_none_match, *if_modified_since, *last_modified;
			int status;
		} cases[] = {
			{NULL, "Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", 304},
			{NULL, "Mon, 07 Nov 1994 00:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", 304},
			{NULL, "Sun, 06 Nov 1994 08:49:36 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", 200},
			{NULL, "Thursday, 06-Nov-25 08:49:37 GMT", "Thu, 06 Nov 2025 08:49:37 GMT", 304},
			{NULL, "Thursday, 06-Nov-25 08:49:36 GMT", "Thu, 06 Nov 2025 08:49:37 GMT", 200},
			{NULL, "not a date", "Sun, 06 Nov 1994 08:49:37 GMT", 200},
			{NULL, "Sun, 06 Nov 1994 08:49:37 GMT", NULL, 200},
			{"\"0000000000000000\"", "Mon, 07 Nov 1994 00:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", 200},
		};

		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			struct http_request cond = {.method = "GET", .uri = "/x", .arena = a};

			cond.if_none_match = cases[i].if_none_match;
			cond.if_modified_since = cases[i].if_modified_since;
			memset(&res, 0, sizeof res);
			http_set_body(&res, 200, "application/json", "{}");
			if (cases[i].last_modified != NULL)
				http_add_header(&res, "Last-Modified", cases[i].last_modified);
			http_finish(&cond, &res, 3600);
			CHECK_INT(res.status, cases[i].status);
			CHECK(cases[i].status == 200 ? res.body != NULL : res.body == NULL);
		}
	}

	/* a write is never cached and gets no ETag of its body, nor a 304 (issue 11) */
	{
		struct http_request post = {.method = "POST", .uri = "/api/releases", .arena = a};
		const char *cc = NULL, *tag = NULL, *expose = NULL;

		post.if_none_match = "*";
		memset(&res, 0, sizeof res);
		http_set_body(&res, 200, "application/json", "{}");
		http_finish(&post, &res, 60);
		for (size_t i = 0; i < res.nheaders; i++) {
			if (strcmp(res.headers[i].name, "Cache-Control") == 0)
				cc = res.headers[i].value;
			if (strcmp(res.headers[i].name, "ETag") == 0)
				tag = res.headers[i].value;
			if (strcmp(res.headers[i].name, "Access-Control-Expose-Headers") == 0)
				expose = res.headers[i].value;
		}
		CHECK_INT(res.status, 200);
		CHECK_STR(cc, "no-store");
		CHECK_STR(tag, NULL);
		CHECK(expose != NULL && strstr(expose, "Location") != NULL &&
		      strstr(expose, "WWW-Authenticate") != NULL);
		/* the new version's tag a handler set is sent */
		memset(&res, 0, sizeof res);
		http_set_body(&res, 201, "application/json", "{}");
		res.etag = "\"abc\"";
		http_finish(&post, &res, 60);
		tag = NULL;
		for (size_t i = 0; i < res.nheaders; i++)
			if (strcmp(res.headers[i].name, "ETag") == 0)
				tag = res.headers[i].value;
		CHECK_STR(tag, "\"abc\"");
		CHECK(strstr(HTTP_CORS_ALLOW_HEADERS, "Authorization") != NULL);
		CHECK(strstr(HTTP_CORS_ALLOW_HEADERS, "Content-Type") != NULL);
		CHECK(strstr(HTTP_CORS_ALLOW_HEADERS, "If-Match") != NULL);
	}

	arena_free(a);
	CHECK_DONE();
}
