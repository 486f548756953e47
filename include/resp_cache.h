/* Each worker's cache of whole responses, keyed by the decoded request; a change drops what it may affect. */
#ifndef RESP_CACHE_H
#define RESP_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "http.h"
#include "params.h"
#include "router.h"

/* Sets the bound on the bytes the cache holds (48 MB until set; 0 turns the cache off), empties
 * it, and draws a new random hash key (once per worker: call it after fork). */
void resp_cache_init(size_t max_bytes);
bool resp_cache_enabled(void);
/* Drops the entries a change may affect, given as db_take_changes says it: "" nothing, "*" every entry, else
 * comma-separated device codenames: the entries about one of those devices, and every entry not about one
 * device (lists across devices, the device list, feeds). */
void resp_cache_invalidate(const char *changes);

/* The cache key of a decoded, validated request: its canonical path (route_match), the
 * parameters in table order (limit as the number it parsed to, its default when absent) and
 * the media type of the answer, each value percent-encoded so that the separators stay
 * unambiguous. Two spellings of one request have one key. */
const char *resp_cache_key(struct arena *a, const struct route_match *m, const struct params *p,
			   const char *media_type);
/* Whether the answer to the request may be kept: its route and every parameter it was given
 * allow it (not a ROUTE_LIVE route, params_cacheable). */
bool resp_cache_admits(const struct route_match *m, const struct params *p);

/* Fills res from the cache (body and headers point into the cache, valid until the next
 * invalidate, store or clear); false on a miss. A hit counts as a use. */
bool resp_cache_lookup(const char *key, struct http_response *res);
/* Copies a 200 response into the cache under scope (the codename of the one device the answer is about,
 * NULL when it may show any), evicting the least recently used entries beyond
 * the bound. A new entry is on probation: entries never asked for again are evicted before
 * any entry that was (segmented LRU), so a stream of one-off requests cannot flush hot ones. */
void resp_cache_store(const char *key, const struct http_response *res, const char *scope);
void resp_cache_clear(void);
/* Clears the cache and forgets its version (at worker exit). */
void resp_cache_free(void);

/* For tests: the number of entries and the bytes they take. */
size_t resp_cache_count(void);
size_t resp_cache_bytes(void);

#endif
