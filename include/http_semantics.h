/* HTTP semantics around every response: content negotiation, entity tags and
 * conditional requests, caching and CORS headers. */
#ifndef HTTP_SEMANTICS_H
#define HTTP_SEMANTICS_H

#include <stdbool.h>
#include <time.h>

#include "http.h"

/* Whether an Accept header admits the media type: absent, any type, the type's
 * major type with any subtype, or the type itself, with a q above 0 (the most
 * specific matching range decides). */
bool http_accepts(const char *accept, const char *media_type);

/* What a route can send: the labels its body is correct under, preferred first, and the
 * types a client may ask for that get types[0] although they are not it (RFC 9110,
 * 12.5.1: a server may disregard Accept rather than answer 406). NULL-terminated. */
struct http_media {
	const char *const *types;
	const char *const *also;
};
/* The media type to label the response with: the type of media->types with the highest
 * q in Accept (the earlier on a tie); else types[0] when Accept admits one of also;
 * else NULL (406). Without Accept, types[0]. */
const char *http_negotiate(const char *accept, const struct http_media *media);

/* The request headers a cross-origin page may send (Access-Control-Allow-Headers of a
 * preflight): the CORS-safelisted ones, the conditional ones, what browsers and their
 * libraries add on their own, and what a write needs (a bearer token, a body's type; a
 * wildcard would not cover Authorization). */
#define HTTP_CORS_ALLOW_HEADERS                                                                 \
	"Accept, Accept-Language, Content-Language, Cache-Control, Pragma, If-None-Match, "     \
	"If-Modified-Since, If-Match, If-Unmodified-Since, If-Range, Range, X-Requested-With, " \
	"Authorization, Content-Type, X-Request-Id"
/* The response headers a cross-origin page may read beyond the safelisted ones: validators,
 * paging, where a write put its resource, why a request was refused and what to send instead. */
#define HTTP_CORS_EXPOSE_HEADERS                                                            \
	"ETag, Link, Last-Modified, Location, Retry-After, WWW-Authenticate, Accept-Post, " \
	"Accept-Patch, X-Request-Id, X-Poll-Interval"
/* How long a cache may serve a stale response during an outage (stale-if-error). */
#define HTTP_STALE_IF_ERROR 86400

/* A strong entity tag for a body: a quoted hash of its bytes. */
const char *http_etag(struct arena *a, const char *body, size_t len);
/* Whether If-None-Match lists the tag (or is "*"); weak tags compare weakly (RFC 9110). */
bool http_etag_matches(const char *if_none_match, const char *etag);
/* Whether an If-Match precondition holds for a resource whose current strong tag is current_etag
 * (NULL: the resource does not exist): true without the header (NULL); "*" holds when the resource
 * exists; otherwise the header must list current_etag, compared strongly (a weak W/ tag never
 * matches; RFC 9110, 13.1.1). A malformed header holds for nothing. */
bool http_if_match(const char *header, const char *current_etag);
/* Parses an HTTP-date in any of its three forms (IMF-fixdate, RFC 850, asctime; RFC 9110,
 * 5.6.7); false for anything else. */
bool http_parse_date(const char *s, time_t *t);
/* Sets res->etag for a 200 that has none yet. */
void http_set_etag(const struct http_request *req, struct http_response *res);
/* Adds CORS, Vary and caching headers; turns a 200 whose tag the client holds into
 * a 304 without a body, and so does If-Modified-Since on a 200 with Last-Modified when
 * the request has no If-None-Match. max_age: seconds a 200 may be cached, by any cache
 * ("public, max-age=N, stale-while-revalidate=N/2, stale-if-error=HTTP_STALE_IF_ERROR");
 * 0: "no-cache". A write (any method but GET and HEAD) is never cached ("no-store", no max-age),
 * gets no ETag of its body and no 304: it carries the ETag a handler set in res->etag (the
 * resource's new version). A response that lost a header (http_add_header) becomes a 500. */
void http_finish(const struct http_request *req, struct http_response *res, int max_age);

#endif
