/* Request bodies: size, media type, JSON with positions, 422 error lists, If-Match. */
#include "body.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_semantics.h"
#include "log.h"

struct body_errors {
	struct arena *arena;
	json_t *list;
};

static void
body__json_free(void *p)
{
	json_decref(p);
}

bool
body_declared_too_large(long long content_length, size_t limit)
{
	return content_length >= 0 && (unsigned long long)content_length > limit;
}

static bool
body__ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether a charset parameter's value (n bytes at v, blanks after it allowed, quoted or not) is utf-8. */
static bool
body__utf8_charset(const char *v, size_t n)
{
	while (n > 0 && body__ows(v[n - 1]))
		n--;
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	return n == 5 && strncasecmp(v, "utf-8", 5) == 0;
}

/* Whether the parameters of a Content-Type (what follows the first ';') allow the body: a charset,
 * if given, is utf-8 (quoted or not, any case). */
static bool
body__parameters_ok(const char *p)
{
	while (p != NULL && *p == ';') {
		const char *name = p + 1, *eq, *end;

		while (body__ows(*name))
			name++;
		end = name + strcspn(name, ";");
		eq = memchr(name, '=', (size_t)(end - name));
		if (eq != NULL && (size_t)(eq - name) == 7 && strncasecmp(name, "charset", 7) == 0 &&
		    !body__utf8_charset(eq + 1, (size_t)(end - eq - 1)))
			return false;
		p = *end ? end : NULL;
	}
	return true;
}

const char *
body_media_type(const char *content_type, const char *const *accepts)
{
	const char *p, *end;
	size_t len;

	if (content_type == NULL || accepts == NULL)
		return NULL;
	for (p = content_type; body__ows(*p); p++)
		;
	end = p + strcspn(p, ";");
	len = (size_t)(end - p);
	while (len > 0 && body__ows(p[len - 1]))
		len--;
	if (!body__parameters_ok(*end ? end : NULL))
		return NULL;
	for (const char *const *t = accepts; *t != NULL; t++)
		if (strlen(*t) == len && strncasecmp(*t, p, len) == 0)
			return *t;
	return NULL;
}

bool
body_is_json_type(const char *media_type)
{
	size_t n = media_type ? strlen(media_type) : 0;

	return (n == 16 && strcasecmp(media_type, "application/json") == 0) ||
	       (n > 5 && strchr(media_type, '/') != NULL && strcasecmp(media_type + n - 5, "+json") == 0);
}

json_t *
body_parse_json(struct http_response *res, struct arena *a, const char *bytes, size_t len)
{
	json_error_t e;
	json_t *doc = json_loadb(bytes, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	const char *what = e.text;

	if (doc != NULL) {
		arena_cleanup_add(a, body__json_free, doc);
		return doc;
	}
	/* jansson names its own flag there; a client knows the escape */
	if (strstr(what, "JSON_ALLOW_NUL") != NULL)
		what = "\\u0000 is not allowed in a string";
	http_problem_with(res, a, RT_ERR_BAD_REQUEST,
			  arena_printf(a, "the body is not valid JSON: %s (line %d, column %d)", what, e.line,
				       e.column),
			  json_pack("{sisisI}", "line", e.line, "column", e.column, "position",
				    (json_int_t)e.position));
	return NULL;
}

/* The request's method and pattern, as a message names a route ("POST /api/releases"). */
static const char *
body__route_text(const struct route *route, const struct http_request *req)
{
	return arena_printf(req->arena, "%s %s", req->method, route->pattern);
}

bool
body_read(const struct route *route, struct http_request *req, struct http_response *res, size_t limit)
{
	const char *detail = NULL;

	if (route->accepts == NULL)
		return true;
	if (req->content_length == -2) {
		http_problem(res, req->arena, RT_ERR_BAD_REQUEST, "Content-Length is not a decimal number", NULL);
		return false;
	}
	if (body_declared_too_large(req->content_length, limit)) {
		http_problem(res, req->arena, RT_ERR_PAYLOAD_TOO_LARGE,
			     arena_printf(req->arena, "the body is larger than max_body_kb allows (%zu kB)",
					  limit / 1024),
			     NULL);
		return false;
	}
	if (req->read_body == NULL) /* nothing to read (a test's request) */
		return true;
	switch (req->read_body(req, limit, &detail)) {
	case HTTP_BODY_OK: return true;
	case HTTP_BODY_TOO_LARGE:
		http_problem(res, req->arena, RT_ERR_PAYLOAD_TOO_LARGE,
			     arena_printf(req->arena, "the body is larger than max_body_kb allows (%zu kB)",
					  limit / 1024),
			     NULL);
		return false;
	case HTTP_BODY_MISMATCH: http_problem(res, req->arena, RT_ERR_BAD_REQUEST, detail, NULL); return false;
	case HTTP_BODY_DROPPED: break;
	}
	/* the adapter sends nothing on this connection; a status for the log */
	http_problem(res, req->arena, RT_ERR_BAD_REQUEST, "the body's stream broke off", NULL);
	return false;
}

/* "application/json, application/merge-patch+json" */
static const char *
body__accepts_text(struct arena *a, const char *const *accepts)
{
	const char *text = accepts[0];

	for (size_t i = 1; accepts[i] != NULL; i++)
		text = arena_printf(a, "%s, %s", text, accepts[i]);
	return text;
}

bool
body_accept(const struct route *route, struct http_request *req, struct http_response *res)
{
	const char *accepted, *type;
	bool present = req->body_len > 0 || (req->content_type != NULL && req->content_type[0] != '\0');

	if (route->accepts == NULL)
		return true;
	accepted = body__accepts_text(req->arena, route->accepts);
	if (!present) {
		if (route->flags & ROUTE_BODY_OPTIONAL)
			return true;
		http_problem(res, req->arena, RT_ERR_BAD_REQUEST,
			     arena_printf(req->arena, "%s needs a body (%s)", body__route_text(route, req), accepted),
			     NULL);
		return false;
	}
	type = body_media_type(req->content_type, route->accepts);
	if (type == NULL) {
		const char *sent = req->content_type == NULL || req->content_type[0] == '\0'
					   ? "a body without Content-Type"
					   : arena_printf(req->arena, "Content-Type %s", req->content_type);

		http_problem(res, req->arena, RT_ERR_UNSUPPORTED_MEDIA_TYPE,
			     arena_printf(req->arena, "%s takes %s (UTF-8), not %s", body__route_text(route, req),
					  accepted, sent),
			     NULL);
		/* where to look up what to send: RFC 5789, 3.1 and the Linked Data Platform, 7.1 */
		if (strcmp(req->method, "PATCH") == 0)
			http_add_header(res, "Accept-Patch", accepted);
		else if (strcmp(req->method, "POST") == 0)
			http_add_header(res, "Accept-Post", accepted);
		return false;
	}
	req->body_type = type;
	if (body_is_json_type(type)) {
		req->body_json = body_parse_json(res, req->arena, req->body ? req->body : "", req->body_len);
		return req->body_json != NULL;
	}
	return true;
}

struct body_errors *
body_errors_new(struct arena *a)
{
	struct body_errors *e = arena_alloc(a, sizeof *e);

	e->arena = a;
	e->list = json_array();
	arena_cleanup_add(a, body__json_free, e->list);
	return e;
}

void
body_error(struct body_errors *e, const char *pointer, const char *fmt, ...)
{
	va_list ap;
	char detail[512];

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	json_array_append_new(e->list, json_pack("{ssss}", "pointer", pointer, "detail", detail));
}

size_t
body_error_count(const struct body_errors *e)
{
	return json_array_size(e->list);
}

void
body_errors_send(struct body_errors *e, struct http_response *res)
{
	size_t n = json_array_size(e->list);

	http_problem_with(res, e->arena, RT_ERR_UNPROCESSABLE,
			  n == 1 ? "the body breaks 1 rule (see errors)"
				 : arena_printf(e->arena, "the body breaks %zu rules (see errors)", n),
			  json_pack("{sO}", "errors", e->list));
}

const char *
body_pointer(struct arena *a, const char *parent, const char *member)
{
	char *out = arena_alloc(a, strlen(parent) + 2 * strlen(member) + 2), *o;

	o = stpcpy(out, parent);
	*o++ = '/';
	for (const char *p = member; *p; p++) {
		if (*p == '~' || *p == '/') {
			*o++ = '~';
			*o++ = *p == '~' ? '0' : '1';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

const char *
body_pointer_index(struct arena *a, const char *parent, size_t index)
{
	return arena_printf(a, "%s/%zu", parent, index);
}

void
body_unknown_members(struct body_errors *e, const char *pointer, json_t *object, const char *const *known)
{
	const char *name;
	json_t *value;

	json_object_foreach(object, name, value)
	{
		bool found = false;

		for (const char *const *k = known; *k != NULL && !found; k++)
			found = strcmp(*k, name) == 0;
		if (!found)
			body_error(e, body_pointer(e->arena, pointer, name), "is not a member this object may have");
	}
}

bool
body_if_match(const struct http_request *req, struct http_response *res, const char *current_etag)
{
	if (http_if_match(req->if_match, current_etag))
		return true;
	http_problem(res, req->arena, RT_ERR_PRECONDITION_FAILED,
		     current_etag == NULL
			     ? "If-Match: the resource does not exist"
			     : arena_printf(req->arena, "If-Match does not name the current version, %s", current_etag),
		     NULL);
	return false;
}
