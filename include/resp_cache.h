/* Each worker's cache of whole responses, keyed by request URI and valid for one data version. */
#ifndef RESP_CACHE_H
#define RESP_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/* The bound on the bytes the cache holds (48 MB until set); 0 turns the cache off. */
void resp_cache_set_limit(size_t max_bytes);
bool resp_cache_enabled(void);
/* Empties the cache when version differs from the one its entries belong to. */
void resp_cache_set_version(const char *version);
/* Fills res from the cache (body and headers point into the cache, valid until the next
 * set_version or store); false on a miss. */
bool resp_cache_lookup(const char *uri, struct http_response *res);
/* Copies a 200 response into the cache (the whole cache is dropped when it is full). */
void resp_cache_store(const char *uri, const struct http_response *res);
void resp_cache_clear(void);
/* Clears the cache and forgets its version (at worker exit). */
void resp_cache_free(void);

#endif
