/* Fuzzes URI and query decoding (http.c): http_parse_uri, http_decode, http_encode, Host checks. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http.h"
#include "params.h"
#include "router.h"

/* decode(encode(s)) == s for a decoded string (valid UTF-8, no NUL). */
static void
fuzz__round_trip(const char *s)
{
	const char *enc = http_encode(fuzz_arena(), s), *dec;

	for (const char *p = enc; *p; p++)
		FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%", *p) != NULL);
	dec = http_decode(fuzz_arena(), enc, strlen(enc), true);
	FUZZ_CHECK(dec != NULL && strcmp(dec, s) == 0);
}

/* The path's segments and its route: a matched path's canonical form routes to the same route with
 * the same captures, and captures that pass their validators are typed as they say. */
static void
fuzz__route(const struct http_request *req)
{
	struct route_match m, again;
	struct params_error perr;
	struct http_request canon = {.arena = fuzz_arena(), .method = "GET"};
	const char *detail;
	size_t slashes = 0;

	for (const char *c = req->path; *c; c++)
		slashes += *c == '/';
	FUZZ_CHECK(req->nsegments == slashes);
	for (size_t i = 0; i < req->nsegments; i++)
		FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)req->segments[i], strlen(req->segments[i])));
	if (!route_match(req, fuzz_arena(), &m))
		return;
	canon.uri = m.canonical_path;
	FUZZ_CHECK(http_parse_uri(&canon, &detail) == RT_OK && route_match(&canon, fuzz_arena(), &again));
	FUZZ_CHECK(again.route == m.route && again.ncaptures == m.ncaptures);
	for (size_t i = 0; i < m.ncaptures; i++)
		FUZZ_CHECK(strcmp(again.captures[i], m.captures[i]) == 0);
	if (route_check_path(&m, fuzz_arena(), &perr)) {
		FUZZ_CHECK(m.path.codename == NULL || params_codename_valid(m.path.codename));
		FUZZ_CHECK(m.path.version == NULL || params_version_valid(m.path.version));
		FUZZ_CHECK(m.path.id >= 0);
	} else {
		FUZZ_CHECK(perr.err == RT_ERR_INVALID_PARAMETER && perr.parameter != NULL && perr.detail != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req = {.arena = fuzz_arena(), .method = "GET"};
	const char *detail = NULL, *base;
	char *text = fuzz_string(data, size);
	enum rt_err rc;

	/* the raw bytes, NULs included, as the decoder gets them */
	for (int plus = 0; plus < 2; plus++) {
		const char *d = http_decode(fuzz_arena(), (const char *)data, size, plus);

		if (d != NULL) {
			FUZZ_CHECK(strlen(d) <= size);
			FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)d, strlen(d)));
			FUZZ_CHECK(plus || memchr(data, '+', size) == NULL || strchr(d, '+') != NULL);
			fuzz__round_trip(d);
		}
	}

	/* the request URI as FastCGI hands it over: a C string */
	req.uri = text;
	rc = http_parse_uri(&req, &detail);
	if (strlen(text) > HTTP_MAX_URI) {
		FUZZ_CHECK(rc == RT_ERR_URI_TOO_LONG);
	} else if (rc == RT_OK) {
		const char *q = strchr(text, '?');

		FUZZ_CHECK(req.path != NULL && strlen(req.path) == (q ? (size_t)(q - text) : strlen(text)));
		FUZZ_CHECK(strncmp(req.path, text, strlen(req.path)) == 0);
		FUZZ_CHECK(req.nquery <= HTTP_MAX_QUERY_PARAMS);
		FUZZ_CHECK(q != NULL || req.nquery == 0);
		fuzz__route(&req);
		for (size_t i = 0; i < req.nquery; i++) {
			const struct http_query_param *qp = &req.query[i];

			FUZZ_CHECK(qp->name != NULL && qp->value != NULL);
			FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)qp->name, strlen(qp->name)));
			FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)qp->value, strlen(qp->value)));
			fuzz__round_trip(qp->name);
			fuzz__round_trip(qp->value);
		}
	} else {
		FUZZ_CHECK(rc == RT_ERR_BAD_REQUEST && detail != NULL);
	}

	/* the same text as a Host header */
	req.host = text;
	req.scheme = size > 0 && data[0] & 1 ? "https" : "http";
	req.server_addr = "::1";
	req.server_port = "8080";
	base = http_request_base_url(&req);
	FUZZ_CHECK(strncmp(base, req.scheme, strlen(req.scheme)) == 0);
	if (http_host_valid(text))
		FUZZ_CHECK(strlen(text) <= 255 && strcmp(base + strlen(req.scheme) + 3, text) == 0);
	else
		FUZZ_CHECK(strcmp(base + strlen(req.scheme) + 3, "[::1]:8080") == 0);
	arena_reset(fuzz_arena());
	return 0;
}
