/* Conditional requests, negotiation, caching and CORS: what every response gets. */
#include "http_semantics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "siphash.h"

/* A fixed key: entity tags must agree across workers and restarts. */
static const unsigned char http__etag_key[SIPHASH_KEY_SIZE] = "romtrack-etag-v1";

static const char *
http__skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

bool
http_accepts(const char *accept, const char *media_type)
{
	const char *slash = strchr(media_type, '/');
	size_t major = slash ? (size_t)(slash - media_type) : strlen(media_type);
	double best = -1;
	int best_specificity = -1;

	if (accept == NULL || *http__skip_ws(accept) == '\0')
		return true;
	/* The most specific matching range decides (RFC 9110, 12.5.1). */
	for (const char *p = accept; *p;) {
		const char *range = http__skip_ws(p), *end = range + strcspn(range, ",");
		const char *semi = memchr(range, ';', (size_t)(end - range));
		const char *rend = semi ? semi : end;
		double q = 1.0;
		int specificity = -1;

		while (rend > range && (rend[-1] == ' ' || rend[-1] == '\t'))
			rend--;
		for (const char *param = semi; param != NULL && param < end;) {
			const char *v = http__skip_ws(param + 1);

			if ((v[0] == 'q' || v[0] == 'Q') && v[1] == '=')
				q = strtod(v + 2, NULL);
			param = memchr(param + 1, ';', (size_t)(end - param - 1));
		}
		if ((size_t)(rend - range) == 3 && strncmp(range, "*/*", 3) == 0)
			specificity = 0;
		else if ((size_t)(rend - range) == major + 2 && strncasecmp(range, media_type, major) == 0 &&
			 strncmp(range + major, "/*", 2) == 0)
			specificity = 1;
		else if ((size_t)(rend - range) == strlen(media_type) &&
			 strncasecmp(range, media_type, strlen(media_type)) == 0)
			specificity = 2;
		if (specificity > best_specificity) {
			best_specificity = specificity;
			best = q;
		}
		p = *end ? end + 1 : end;
	}
	return best_specificity >= 0 && best > 0;
}

const char *
http_etag(struct arena *a, const char *body, size_t len)
{
	return arena_printf(a, "\"%016llx\"", (unsigned long long)siphash24(http__etag_key, body, len));
}

bool
http_etag_matches(const char *if_none_match, const char *etag)
{
	size_t tl = strlen(etag);

	if (if_none_match == NULL)
		return false;
	for (const char *p = if_none_match; *p;) {
		const char *t = http__skip_ws(p), *end = t + strcspn(t, ",");
		const char *tend = end;

		while (tend > t && (tend[-1] == ' ' || tend[-1] == '\t'))
			tend--;
		if (tend - t == 1 && *t == '*')
			return true;
		if (tend - t > 2 && strncmp(t, "W/", 2) == 0)
			t += 2; /* If-None-Match uses the weak comparison */
		if ((size_t)(tend - t) == tl && strncmp(t, etag, tl) == 0)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

void
http_set_etag(const struct http_request *req, struct http_response *res)
{
	if (res->status == 200 && res->etag == NULL)
		res->etag = http_etag(req->arena, res->body ? res->body : "", res->body_len);
}

void
http_finish(const struct http_request *req, struct http_response *res, int max_age)
{
	http_add_header(res, "Access-Control-Allow-Origin", "*");
	http_add_header(res, "Access-Control-Expose-Headers", "ETag, Link, Last-Modified");
	http_add_header(res, "Vary", "Accept");
	if (res->status != 200) {
		if (res->status >= 400)
			http_add_header(res, "Cache-Control", "no-store");
		return;
	}
	const char *etag;

	http_set_etag(req, res);
	etag = res->etag;

	http_add_header(res, "ETag", etag);
	http_add_header(res, "Cache-Control", max_age > 0 ? arena_printf(req->arena, "public, max-age=%d", max_age)
							: "no-cache");
	if (http_etag_matches(req->if_none_match, etag)) {
		res->status = 304;
		res->content_type = NULL;
		res->body = NULL;
		res->body_len = 0;
	}
}
