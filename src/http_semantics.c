/* Conditional requests, negotiation, caching and CORS: what every response gets. */
#include "http_semantics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "log.h"
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

/* The q the most specific range of Accept gives the media type (RFC 9110, 12.5.1);
 * 0 when no range matches. */
static double
http__quality(const char *accept, const char *media_type)
{
	const char *slash = strchr(media_type, '/');
	size_t major = slash ? (size_t)(slash - media_type) : strlen(media_type);
	double best = 0;
	int best_specificity = -1;

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
	return best > 0 ? best : 0;
}

static bool
http__no_accept(const char *accept)
{
	return accept == NULL || *http__skip_ws(accept) == '\0';
}

bool
http_accepts(const char *accept, const char *media_type)
{
	return http__no_accept(accept) || http__quality(accept, media_type) > 0;
}

const char *
http_negotiate(const char *accept, const struct http_media *media)
{
	const char *chosen = NULL;
	double chosen_q = 0;

	if (http__no_accept(accept))
		return media->types[0];
	for (const char *const *t = media->types; *t != NULL; t++) {
		double q = http__quality(accept, *t);

		if (q > chosen_q) {
			chosen = *t;
			chosen_q = q;
		}
	}
	for (const char *const *t = media->also; chosen == NULL && t != NULL && *t != NULL; t++)
		if (http__quality(accept, *t) > 0)
			chosen = media->types[0];
	return chosen;
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
		/* cppcheck-suppress knownConditionTrueFalse ; 2.10 takes the loop to end at t, yet it stops at a
		 * non-blank */
		if (tend - t == 1 && *t == '*')
			return true;
		/* cppcheck-suppress knownConditionTrueFalse ; as above */
		if (tend - t > 2 && strncmp(t, "W/", 2) == 0)
			t += 2; /* If-None-Match uses the weak comparison */
		if ((size_t)(tend - t) == tl && strncmp(t, etag, tl) == 0)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* One entity-tag at p ([W/]"etagc*", RFC 9110, 8.8.3): its end, or NULL when there is none;
 * *weak tells whether it had the W/ prefix. */
static const char *
http__entity_tag(const char *p, bool *weak)
{
	*weak = strncmp(p, "W/", 2) == 0;
	if (*weak)
		p += 2;
	if (*p != '"')
		return NULL;
	for (p++; *p != '"'; p++)
		if (!((unsigned char)*p == 0x21 || (unsigned char)*p >= 0x23) || (unsigned char)*p == 0x7f)
			return NULL;
	return p + 1;
}

bool
http_if_match(const char *header, const char *current_etag)
{
	const char *p;
	bool matched = false, any = false;

	if (header == NULL)
		return true;
	p = http__skip_ws(header);
	if (*p == '*' && *http__skip_ws(p + 1) == '\0')
		return current_etag != NULL;
	/* #entity-tag: a comma-separated list, empty elements allowed (RFC 9110, 5.6.1) */
	while (*p != '\0') {
		const char *end;
		bool weak;

		if (*p == ',' || *p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		end = http__entity_tag(p, &weak);
		if (end == NULL)
			return false;
		any = true;
		if (!weak && current_etag != NULL && (size_t)(end - p) == strlen(current_etag) &&
		    strncmp(p, current_etag, (size_t)(end - p)) == 0)
			matched = true;
		p = http__skip_ws(end);
		if (*p != ',' && *p != '\0')
			return false;
	}
	return any && matched;
}

/* A date string parsed with strptime to its very end (the workers run in the C locale,
 * so day and month names are English). */
static bool
http__strptime(const char *s, const char *format, struct tm *tm)
{
	const char *end;

	memset(tm, 0, sizeof *tm);
	end = strptime(s, format, tm);
	return end != NULL && *end == '\0';
}

bool
http_parse_date(const char *s, time_t *t)
{
	struct tm tm;

	if (s == NULL)
		return false;
	if (!http__strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) && !http__strptime(s, "%a %b %e %H:%M:%S %Y", &tm)) {
		struct tm now;
		time_t clock = time(NULL);

		if (!http__strptime(s, "%A, %d-%b-%y %H:%M:%S GMT", &tm))
			return false;
		/* RFC 850's two-digit year: a year more than 50 years ahead is the most recent
		 * past year with the same last two digits */
		gmtime_r(&clock, &now);
		tm.tm_year = now.tm_year - now.tm_year % 100 + tm.tm_year % 100;
		if (tm.tm_year > now.tm_year + 50)
			tm.tm_year -= 100;
	}
	*t = timegm(&tm);
	return *t != (time_t)-1;
}

/* Whether If-Modified-Since holds the response back: the client's copy is as recent as
 * the Last-Modified the 200 carries. Ignored when If-None-Match is present or the date
 * is not an HTTP-date (RFC 9110, 13.1.3). */
static bool
http__not_modified_since(const struct http_request *req, const struct http_response *res)
{
	time_t since, modified;

	if (req->if_none_match != NULL || !http_parse_date(req->if_modified_since, &since))
		return false;
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcasecmp(res->headers[i].name, "Last-Modified") == 0)
			return http_parse_date(res->headers[i].value, &modified) && modified <= since;
	return false;
}

void
http_set_etag(const struct http_request *req, struct http_response *res)
{
	if (res->status == 200 && res->etag == NULL)
		res->etag = http_etag(req->arena, res->body ? res->body : "", res->body_len);
}

/* The request's id (the client's X-Request-Id when well-formed, else nginx's $request_id) comes back as
 * X-Request-Id, and a problem names it as its instance (RFC 9457), so that a client's report finds the log lines
 * and the audit entries of that request. */
static void
http__request_id(const struct http_request *req, struct http_response *res)
{
	json_t *problem;

	if (req->request_id == NULL)
		return;
	http_add_header(res, "X-Request-Id", req->request_id);
	if (res->status < 400 || res->content_type == NULL ||
	    strcmp(res->content_type, "application/problem+json") != 0 || res->body == NULL ||
	    (problem = json_loadb(res->body, res->body_len, 0, NULL)) == NULL)
		return;
	if (json_is_object(problem) && json_object_get(problem, "instance") == NULL) {
		json_object_set_new(problem, "instance", json_sprintf("urn:romtrack:request:%s", req->request_id));
		char *text = json_dumps(problem, JSON_COMPACT);

		if (text != NULL) {
			res->body = arena_strdup(req->arena, text);
			res->body_len = strlen(res->body);
			free(text);
		}
	}
	json_decref(problem);
}

/* A response that lost a header is a bug of romtrack's: never sent silently incomplete. */
static void
http__header_overflow(const struct http_request *req, struct http_response *res)
{
	log_error("%s: response header %s dropped, more than %d headers; answering 500", req->uri, res->dropped_header,
		  HTTP_MAX_HEADERS);
	memset(res, 0, sizeof *res);
	http_problem(res, req->arena, RT_ERR_INTERNAL, "the response had more headers than romtrack can send", NULL);
	http__request_id(req, res);
	http_add_header(res, "Access-Control-Allow-Origin", "*");
	http_add_header(res, "Cache-Control", "no-store");
}

void
http_finish(const struct http_request *req, struct http_response *res, int max_age)
{
	http__request_id(req, res);
	http_add_header(res, "Access-Control-Allow-Origin", "*");
	http_add_header(res, "Access-Control-Expose-Headers", HTTP_CORS_EXPOSE_HEADERS);
	http_add_header(res, "Vary", "Accept");
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
	    strcmp(req->method, "OPTIONS") != 0) {
		/* a write: what it answers describes that one request */
		if (res->etag != NULL && res->status < 300)
			http_add_header(res, "ETag", res->etag);
		http_add_header(res, "Cache-Control", "no-store");
		if (res->dropped_header != NULL)
			http__header_overflow(req, res);
		return;
	}
	if (res->status != 200) {
		if (res->status >= 400)
			http_add_header(res, "Cache-Control", "no-store");
		if (res->dropped_header != NULL)
			http__header_overflow(req, res);
		return;
	}
	const char *etag;

	http_set_etag(req, res);
	etag = res->etag;

	http_add_header(res, "ETag", etag);
	/* Data is corrected after publication: shared caches revalidate within max_age, may
	 * answer from the stale copy while they do (or while romtrack is unreachable). */
	http_add_header(res, "Cache-Control",
			max_age > 0 ? arena_printf(req->arena,
						   "public, max-age=%d, stale-while-revalidate=%d, stale-if-error=%d",
						   max_age, max_age / 2, HTTP_STALE_IF_ERROR)
				    : "no-cache");
	if (res->dropped_header != NULL) {
		http__header_overflow(req, res);
		return;
	}
	if (http_etag_matches(req->if_none_match, etag) || http__not_modified_since(req, res)) {
		res->status = 304;
		res->content_type = NULL;
		res->body = NULL;
		res->body_len = 0;
	}
}
