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
/* A strong entity tag for a body: a quoted hash of its bytes. */
const char *http_etag(struct arena *a, const char *body, size_t len);
/* Whether If-None-Match lists the tag (or is "*"); weak tags compare weakly (RFC 9110). */
bool http_etag_matches(const char *if_none_match, const char *etag);
/* Parses an HTTP-date in any of its three forms (IMF-fixdate, RFC 850, asctime; RFC 9110,
 * 5.6.7); false for anything else. */
bool http_parse_date(const char *s, time_t *t);
/* Sets res->etag for a 200 that has none yet. */
void http_set_etag(const struct http_request *req, struct http_response *res);
/* Adds CORS, Vary and caching headers; turns a 200 whose tag the client holds into
 * a 304 without a body, and so does If-Modified-Since on a 200 with Last-Modified when
 * the request has no If-None-Match. max_age: seconds a 200 may be cached. */
void http_finish(const struct http_request *req, struct http_response *res, int max_age);

#endif
