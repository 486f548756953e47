/* Request URI decoding and response building shared by every handler. */
#include "http.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
http__hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
http_decode(struct arena *a, const char *src, size_t len, bool plus_is_space)
{
	char *out = arena_alloc(a, len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return NULL;
			hi = http__hex(src[i + 1]);
			lo = http__hex(src[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0')
			return NULL;
		out[o++] = c;
	}
	out[o] = '\0';
	return utf8_valid(out, o, NULL) ? out : NULL;
}

char *
http_encode(struct arena *a, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(src);
	char *out = arena_alloc(a, len * 3 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '.' || *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/* Splits the path after each '/' into decoded segments ("/a/b%2Fc" gives "a", "b/c"); false when
 * it does not start with '/' or a segment does not decode. */
static bool
http__split_path(struct http_request *req)
{
	const char *p = req->path;
	size_t n = 0;

	req->nsegments = 0;
	if (p[0] != '/')
		return false;
	for (const char *c = p; *c; c++)
		n += *c == '/';
	req->segments = arena_alloc(req->arena, n * sizeof *req->segments);
	while (*p == '/') {
		const char *end = strchrnul(++p, '/');
		const char *segment = http_decode(req->arena, p, (size_t)(end - p), false);

		if (segment == NULL)
			return false;
		req->segments[req->nsegments++] = segment;
		p = end;
	}
	return true;
}

enum rt_err
http_parse_uri(struct http_request *req, const char **detail)
{
	const char *uri = req->uri, *q, *p;
	size_t len = strlen(uri);

	if (len > HTTP_MAX_URI) {
		*detail = "the request URI is longer than 2048 bytes";
		return RT_ERR_URI_TOO_LONG;
	}
	q = strchr(uri, '?');
	req->path = q ? arena_strndup(req->arena, uri, (size_t)(q - uri)) : uri;
	if (!http__split_path(req)) {
		*detail = req->path[0] != '/' ? "the path must start with '/'"
					      : "the path has a malformed percent-escape, a NUL byte or invalid UTF-8";
		return RT_ERR_BAD_REQUEST;
	}
	req->nquery = 0;
	if (q == NULL)
		return RT_OK;
	for (p = q + 1; *p != '\0';) {
		const char *amp = strchr(p, '&'), *eq;
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);

		if (plen > 0) {
			if (req->nquery == HTTP_MAX_QUERY_PARAMS) {
				*detail = "the query has more than 32 parameters";
				return RT_ERR_BAD_REQUEST;
			}
			struct http_query_param *qp = &req->query[req->nquery++];
			eq = memchr(p, '=', plen);
			qp->name = http_decode(req->arena, p, eq ? (size_t)(eq - p) : plen, true);
			qp->value = eq ? http_decode(req->arena, eq + 1, plen - (size_t)(eq - p) - 1, true) : "";
			if (qp->name == NULL || qp->value == NULL) {
				*detail = "the query has a malformed percent-escape, a NUL byte or invalid UTF-8";
				return RT_ERR_BAD_REQUEST;
			}
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	return RT_OK;
}

void
http_add_header(struct http_response *res, const char *name, const char *value)
{
	if (res->nheaders < HTTP_MAX_HEADERS) {
		res->headers[res->nheaders].name = name;
		res->headers[res->nheaders].value = value;
		res->nheaders++;
	} else if (res->dropped_header == NULL) {
		res->dropped_header = name;
	}
}

bool
http_request_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n >= 1 && n <= 128 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

bool
http_host_valid(const char *host)
{
	const char *p = host, *port;
	size_t len = host ? strlen(host) : 0;

	if (len == 0 || len > 255)
		return false;
	if (*p == '[') {
		p += 1 + strspn(p + 1, "0123456789abcdefABCDEF:.");
		if (*p != ']' || p == host + 1)
			return false;
		p++;
	} else {
		/* labels of letters, digits and '-', separated by single dots */
		for (bool label_start = true; *p != '\0' && *p != ':'; p++) {
			bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');

			if (!alnum && !(*p == '-' && !label_start) && !(*p == '.' && !label_start))
				return false;
			label_start = *p == '.';
		}
		if (p == host)
			return false;
	}
	if (*p == '\0')
		return true;
	port = p + 1;
	return *p == ':' && strlen(port) >= 1 && strlen(port) <= 5 && strspn(port, "0123456789") == strlen(port);
}

const char *
http_request_base_url(const struct http_request *req)
{
	const char *scheme = req->scheme != NULL && strcmp(req->scheme, "https") == 0 ? "https" : "http";
	const char *addr = req->server_addr ? req->server_addr : "", *port = req->server_port ? req->server_port : "";
	const char *own;

	if (http_host_valid(req->host))
		return arena_printf(req->arena, "%s://%s", scheme, req->host);
	/* no usable Host: the address and port nginx accepted the connection on */
	own = arena_printf(req->arena, strchr(addr, ':') ? "[%s]:%s" : "%s:%s", addr, port);
	return arena_printf(req->arena, "%s://%s", scheme, http_host_valid(own) ? own : "localhost");
}

void
http_set_body(struct http_response *res, int status, const char *content_type, const char *body)
{
	res->status = status;
	res->content_type = content_type;
	res->body = body;
	res->body_len = body ? strlen(body) : 0;
}

static void
http__free_str(void *p)
{
	free(p);
}

void
http_problem(struct http_response *res, struct arena *a, enum rt_err err, const char *detail, const char *parameter)
{
	http_problem_with(res, a, err, detail, parameter != NULL ? json_pack("{ss}", "parameter", parameter) : NULL);
}

void
http_problem_with(struct http_response *res, struct arena *a, enum rt_err err, const char *detail, json_t *extra)
{
	json_t *obj = json_object();
	char *body;

	json_object_set_new(obj, "type", json_sprintf("urn:romtrack:problem:%s", rt_err_slug(err)));
	json_object_set_new(obj, "title", json_string(rt_strerror(err)));
	json_object_set_new(obj, "status", json_integer(rt_err_status(err)));
	json_object_set_new(obj, "detail", json_string(detail ? detail : rt_strerror(err)));
	/* the fixed members come first and win */
	if (extra != NULL)
		json_object_update_missing(obj, extra);
	json_decref(extra);
	body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (body == NULL) {
		/* Only reachable when out of memory: keep the status, send no body. */
		http_set_body(res, rt_err_status(err), "application/problem+json", NULL);
		return;
	}
	arena_cleanup_add(a, http__free_str, body);
	http_set_body(res, rt_err_status(err), "application/problem+json", body);
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}
