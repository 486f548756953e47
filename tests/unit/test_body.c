/* Request bodies: the size decision, media types, JSON errors with their place, the 422 list, If-Match, and the
 * order of body_read and body_accept over a request whose body a fake reader supplies. */
#include "check.h"

#include <jansson.h>

#include "arena.h"
#include "body.h"
#include "http.h"
#include "http_semantics.h"
#include "router.h"

/* The problem body of res, parsed (freed by the caller). */
static json_t *
problem(const struct http_response *res)
{
	return json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
}

static const char *
header(const struct http_response *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

/* A fake body source: what read_body hands over. */
static enum http_body_status fake_status;
static const char *fake_bytes;
static size_t fake_limit_seen;

static enum http_body_status
fake_read(struct http_request *req, size_t limit, const char **detail)
{
	fake_limit_seen = limit;
	if (fake_status == HTTP_BODY_MISMATCH)
		*detail = "the body has 3 bytes, its Content-Length said 5";
	req->body = fake_bytes;
	req->body_len = fake_bytes ? strlen(fake_bytes) : 0;
	return fake_status;
}

static void
test_media_types(void)
{
	static const char *const json[] = {"application/json", NULL};
	static const char *const patch[] = {"application/merge-patch+json", "application/json", NULL};
	static const char *const pages[] = {"text/markdown", "text/html", "application/yaml", NULL};

	CHECK_STR(body_media_type("application/json", json), "application/json");
	CHECK_STR(body_media_type("Application/JSON", json), "application/json");
	CHECK_STR(body_media_type("  application/json  ", json), "application/json");
	CHECK_STR(body_media_type("application/json; charset=utf-8", json), "application/json");
	CHECK_STR(body_media_type("application/json;charset=\"UTF-8\"", json), "application/json");
	CHECK_STR(body_media_type("application/json ; foo=bar; charset=utf-8", json), "application/json");
	/* JSON is UTF-8 (RFC 8259, 8.1) */
	CHECK_STR(body_media_type("application/json; charset=iso-8859-1", json), NULL);
	CHECK_STR(body_media_type("application/json; charset=utf-16", json), NULL);
	CHECK_STR(body_media_type("application/jsonx", json), NULL);
	CHECK_STR(body_media_type("application/json-seq", json), NULL);
	CHECK_STR(body_media_type("text/plain", json), NULL);
	CHECK_STR(body_media_type("application/*", json), NULL);
	CHECK_STR(body_media_type("", json), NULL);
	CHECK_STR(body_media_type(NULL, json), NULL);
	CHECK_STR(body_media_type("application/merge-patch+json", patch), "application/merge-patch+json");
	CHECK_STR(body_media_type("application/json", patch), "application/json");
	CHECK_STR(body_media_type("text/html; charset=UTF-8", pages), "text/html");
	CHECK_STR(body_media_type("application/yaml", pages), "application/yaml");
	CHECK(body_is_json_type("application/json"));
	CHECK(body_is_json_type("application/merge-patch+json"));
	CHECK(!body_is_json_type("application/yaml"));
	CHECK(!body_is_json_type("text/markdown"));
	CHECK(!body_is_json_type("+json"));
	CHECK(!body_is_json_type(NULL));
}

static void
test_size(void)
{
	/* 413 before reading: only a declared length above the limit */
	CHECK(!body_declared_too_large(-1, 1024)); /* not declared: the stream's end decides */
	CHECK(!body_declared_too_large(0, 1024));
	CHECK(!body_declared_too_large(1024, 1024));
	CHECK(body_declared_too_large(1025, 1024));
	CHECK(body_declared_too_large(999999999999LL, 1024 * 1024));
}

/* Parses text; checks the 400's line, column and the words of its detail. */
static void
check_json_error_len(struct arena *a, const char *text, size_t len, int line, int column, const char *words)
{
	struct http_response res = {0};
	json_t *p;

	CHECK(body_parse_json(&res, a, text, len) == NULL);
	CHECK_INT(res.status, 400);
	CHECK_STR(res.content_type, "application/problem+json");
	p = problem(&res);
	CHECK(p != NULL);
	CHECK_INT(json_integer_value(json_object_get(p, "line")), line);
	CHECK_INT(json_integer_value(json_object_get(p, "column")), column);
	CHECK(json_is_integer(json_object_get(p, "position")));
	CHECK_STR(json_string_value(json_object_get(p, "type")), "urn:romtrack:problem:bad-request");
	CHECK(json_is_string(json_object_get(p, "detail")));
	if (json_is_string(json_object_get(p, "detail")) &&
	    strstr(json_string_value(json_object_get(p, "detail")), words) == NULL) {
		check_failures++;
		fprintf(stderr, "detail \"%s\" lacks \"%s\"\n", json_string_value(json_object_get(p, "detail")), words);
	}
	json_decref(p);
}

static void
check_json_error(struct arena *a, const char *text, int line, int column, const char *words)
{
	check_json_error_len(a, text, strlen(text), line, column, words);
}

static void
test_json(struct arena *a)
{
	struct http_response res = {0};
	json_t *doc;

	doc = body_parse_json(&res, a, "{\"a\": [1, 2]}", 13);
	CHECK(doc != NULL && json_array_size(json_object_get(doc, "a")) == 2);
	CHECK_INT(res.status, 0);
	/* any JSON text: whether a value fits is the handler's 422 */
	CHECK(body_parse_json(&res, a, "\"x\"", 3) != NULL);
	CHECK(body_parse_json(&res, a, "42", 2) != NULL);
	/* the place is that of the offending token's last character: line 2 is `  "a": tru`, whose 'u' is its
	 * 10th character */
	check_json_error(a, "{\n  \"a\": tru\n}", 2, 10, "line 2, column 10");
	/* columns count characters, not bytes: "é" is one */
	check_json_error(a, "{\"\xc3\xa9\": x}", 1, 7, "invalid token");
	/* the closing quote of the repeated name, the 10th character */
	check_json_error(a, "{\"a\":1,\"a\":2}", 1, 10, "duplicate object key");
	check_json_error(a, "[1,\n2,\n x]", 3, 2, "line 3, column 2");
	check_json_error(a, "{\"a\": 1,}", 1, 9, "expected");
	check_json_error(a, "1 2", 1, 3, "end of file expected");
	check_json_error(a, "", 1, 0, "end of file");
	check_json_error(a, "\xff", 1, 0, "0xff");
	check_json_error(a, "\"\\u0000\"", 1, 8, "\\u0000 is not allowed in a string");
	/* the body may hold a NUL: the length, not the NUL, ends it */
	check_json_error_len(a, "{}\0", 3, 1, 3, "end of file expected"); /* the NUL is the 3rd */
}

static void
test_errors(struct arena *a)
{
	struct http_response res = {0};
	struct body_errors *e = body_errors_new(a);
	json_t *p, *list, *obj = json_pack("{sisisi}", "md5", 1, "colour", 2, "a/b~c", 3);
	static const char *const known[] = {"md5", "size", NULL};

	CHECK_STR(body_pointer(a, "", "data"), "/data");
	CHECK_STR(body_pointer_index(a, "/data", 3), "/data/3");
	CHECK_STR(body_pointer(a, body_pointer_index(a, "/data", 3), "md5"), "/data/3/md5");
	CHECK_STR(body_pointer(a, "/x", "a/b~c"), "/x/a~1b~0c"); /* RFC 6901, 3 */
	CHECK_STR(body_pointer(a, "", ""), "/");
	CHECK_INT(body_error_count(e), 0);
	body_error(e, "/data/3/md5", "must be 32 hexadecimal digits, not \"%s\"", "xyz");
	body_unknown_members(e, "/data/4", obj, known);
	CHECK_INT(body_error_count(e), 3);
	body_errors_send(e, &res);
	CHECK_INT(res.status, 422);
	CHECK_STR(res.content_type, "application/problem+json");
	p = problem(&res);
	CHECK_STR(json_string_value(json_object_get(p, "type")), "urn:romtrack:problem:validation-failed");
	CHECK_STR(json_string_value(json_object_get(p, "title")), "Unprocessable Content");
	CHECK_INT(json_integer_value(json_object_get(p, "status")), 422);
	CHECK_STR(json_string_value(json_object_get(p, "detail")), "the body breaks 3 rules (see errors)");
	list = json_object_get(p, "errors");
	CHECK_INT(json_array_size(list), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "pointer")), "/data/3/md5");
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "detail")),
		  "must be 32 hexadecimal digits, not \"xyz\"");
	/* in the object's order: colour, then a/b~c; md5 is known */
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 1), "pointer")), "/data/4/colour");
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 2), "pointer")), "/data/4/a~1b~0c");
	CHECK_INT(json_object_size(json_array_get(list, 1)), 2);
	json_decref(p);
	json_decref(obj);
}

static void
test_if_match(struct arena *a)
{
	const char *tag = "\"0123456789abcdef\"";
	struct http_request req = {.method = "PATCH", .uri = "/api/releases/1", .arena = a};
	struct http_response res = {0};
	json_t *p;

	/* RFC 9110, 13.1.1: no header, no precondition */
	CHECK(http_if_match(NULL, tag));
	CHECK(http_if_match(NULL, NULL));
	/* "*": any current representation, none when the resource does not exist */
	CHECK(http_if_match("*", tag));
	CHECK(http_if_match(" * ", tag));
	CHECK(!http_if_match("*", NULL));
	/* a list of tags, compared strongly */
	CHECK(http_if_match("\"0123456789abcdef\"", tag));
	CHECK(http_if_match("\"x\", \"0123456789abcdef\"", tag));
	CHECK(http_if_match("\"x\",\"0123456789abcdef\" ,", tag));
	CHECK(http_if_match(", \"0123456789abcdef\"", tag));
	CHECK(!http_if_match("\"x\", \"y\"", tag));
	CHECK(!http_if_match("W/\"0123456789abcdef\"", tag)); /* a weak tag never matches strongly */
	CHECK(!http_if_match("\"0123456789ABCDEF\"", tag));   /* opaque: case matters */
	CHECK(!http_if_match("\"0123456789abcdef\"", NULL));
	CHECK(!http_if_match("\"0123456789abcde\"", tag));
	/* malformed: holds for nothing */
	CHECK(!http_if_match("0123456789abcdef", tag));
	CHECK(!http_if_match("\"0123456789abcdef", tag));
	CHECK(!http_if_match("\"0123456789abcdef\" junk", tag));
	CHECK(!http_if_match("*, \"0123456789abcdef\"", tag));
	CHECK(!http_if_match("", tag));
	CHECK(!http_if_match("\"a b\", \"0123456789abcdef\"", tag)); /* a space is not an etagc */
	/* a comma inside a tag is part of it (etagc takes %x23-7E) */
	CHECK(http_if_match("\"a,b\"", "\"a,b\""));

	CHECK(body_if_match(&req, &res, tag));
	CHECK_INT(res.status, 0);
	req.if_match = "\"other\"";
	CHECK(!body_if_match(&req, &res, tag));
	CHECK_INT(res.status, 412);
	p = problem(&res);
	CHECK_STR(json_string_value(json_object_get(p, "type")), "urn:romtrack:problem:precondition-failed");
	json_decref(p);
}

/* The route of a request to POST /api/releases, with the fake reader. */
static void
request(struct http_request *req, struct arena *a, const char *content_type, long long length, const char *bytes)
{
	memset(req, 0, sizeof *req);
	req->method = "POST";
	req->uri = "/api/releases";
	req->arena = a;
	req->content_type = content_type;
	req->content_length = length;
	req->read_body = fake_read;
	fake_status = HTTP_BODY_OK;
	fake_bytes = bytes;
	fake_limit_seen = 0;
}

static void
test_read_and_accept(struct arena *a)
{
	const struct route *post = route_find_method("/api/releases", "POST");
	struct http_request req;
	struct http_response res;
	json_t *p;

	CHECK(post != NULL && post->accepts != NULL && post->scope != NULL);
	CHECK(post != route_find("/api/releases")); /* the read row comes first */

	/* a JSON body passes both halves, parsed */
	request(&req, a, "application/json; charset=utf-8", 8, "{\"a\":1}");
	memset(&res, 0, sizeof res);
	CHECK(body_read(post, &req, &res, 1024));
	CHECK_INT(fake_limit_seen, 1024);
	CHECK(body_accept(post, &req, &res));
	CHECK_STR(req.body_type, "application/json");
	CHECK(json_integer_value(json_object_get(req.body_json, "a")) == 1);

	/* declared over the limit: 413, and the body is never read */
	request(&req, a, "application/json", 1025, "{}");
	memset(&res, 0, sizeof res);
	CHECK(!body_read(post, &req, &res, 1024));
	CHECK_INT(res.status, 413);
	CHECK_INT(fake_limit_seen, 0);
	p = problem(&res);
	CHECK_STR(json_string_value(json_object_get(p, "type")), "urn:romtrack:problem:payload-too-large");
	CHECK_STR(json_string_value(json_object_get(p, "detail")), "the body is larger than max_body_kb allows (1 kB)");
	json_decref(p);
	/* over the limit as it came (no length declared) */
	request(&req, a, "application/json", -1, NULL);
	fake_status = HTTP_BODY_TOO_LARGE;
	memset(&res, 0, sizeof res);
	CHECK(!body_read(post, &req, &res, 1024));
	CHECK_INT(res.status, 413);
	/* not what Content-Length said */
	request(&req, a, "application/json", 5, "{}");
	fake_status = HTTP_BODY_MISMATCH;
	memset(&res, 0, sizeof res);
	CHECK(!body_read(post, &req, &res, 1024));
	CHECK_INT(res.status, 400);
	/* a Content-Length that is no number */
	request(&req, a, "application/json", -2, "{}");
	memset(&res, 0, sizeof res);
	CHECK(!body_read(post, &req, &res, 1024));
	CHECK_INT(res.status, 400);
	CHECK_INT(fake_limit_seen, 0);

	/* a route without accepts reads nothing */
	request(&req, a, "application/json", 99999, "{}");
	memset(&res, 0, sizeof res);
	CHECK(body_read(route_find("/api/releases"), &req, &res, 1024));
	CHECK(body_accept(route_find("/api/releases"), &req, &res));
	CHECK_INT(fake_limit_seen, 0);
	CHECK(req.body == NULL);

	/* required and missing: 400 */
	request(&req, a, NULL, -1, "");
	memset(&res, 0, sizeof res);
	CHECK(body_read(post, &req, &res, 1024));
	CHECK(!body_accept(post, &req, &res));
	CHECK_INT(res.status, 400);
	p = problem(&res);
	CHECK_STR(json_string_value(json_object_get(p, "detail")),
		  "POST /api/releases needs a body (application/json)");
	json_decref(p);

	/* another type: 415 naming what the route takes, with Accept-Post */
	request(&req, a, "text/plain", 2, "{}");
	memset(&res, 0, sizeof res);
	CHECK(body_read(post, &req, &res, 1024));
	CHECK(!body_accept(post, &req, &res));
	CHECK_INT(res.status, 415);
	CHECK_STR(header(&res, "Accept-Post"), "application/json");
	p = problem(&res);
	CHECK_STR(json_string_value(json_object_get(p, "type")), "urn:romtrack:problem:unsupported-media-type");
	CHECK_STR(json_string_value(json_object_get(p, "detail")),
		  "POST /api/releases takes application/json (UTF-8), not Content-Type text/plain");
	json_decref(p);
	/* a body without a type: 415 too */
	request(&req, a, NULL, 2, "{}");
	memset(&res, 0, sizeof res);
	CHECK(body_read(post, &req, &res, 1024));
	CHECK(!body_accept(post, &req, &res));
	CHECK_INT(res.status, 415);
	/* malformed JSON: 400 with its place */
	request(&req, a, "application/json", 5, "{\"a\":");
	memset(&res, 0, sizeof res);
	CHECK(body_read(post, &req, &res, 1024));
	CHECK(!body_accept(post, &req, &res));
	CHECK_INT(res.status, 400);
	CHECK(req.body_json == NULL);
}

int
main(void)
{
	struct arena *a = arena_new();

	test_media_types();
	test_size();
	test_json(a);
	test_errors(a);
	test_if_match(a);
	test_read_and_accept(a);
	CHECK(http_request_id_valid("0123456789abcdef0123456789abcdef"));
	CHECK(http_request_id_valid("a1b2-c3:d4.e5_f6"));
	CHECK(!http_request_id_valid(""));
	CHECK(!http_request_id_valid(NULL));
	CHECK(!http_request_id_valid("a b"));
	CHECK(!http_request_id_valid("a\nb"));
	CHECK(!http_request_id_valid("abc\"def"));
	arena_free(a);
	CHECK_DONE();
}
