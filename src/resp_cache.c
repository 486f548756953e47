/* A chained hash table of copied responses; the whole table goes when the data version
 * changes or the memory bound is reached (simple, and a full refill is cheap). */
#include "resp_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"

#define RC__BUCKETS 4096

struct rc__entry {
	struct rc__entry *next;
	char *uri;
	int status;
	char *content_type;
	char *body;
	size_t body_len;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	char *etag;
	size_t bytes;
};

static struct rc__entry *rc__buckets[RC__BUCKETS];
static size_t rc__bytes;
static size_t rc__max_bytes = 48u * 1024 * 1024;
static char *rc__version; /* the data version the entries belong to */
static const unsigned char rc__key[SIPHASH_KEY_SIZE] = "romtrack-cache-1";

static size_t
rc__bucket(const char *uri)
{
	return (size_t)(siphash24(rc__key, uri, strlen(uri)) % RC__BUCKETS);
}

static char *
rc__dup(const char *s, size_t n, size_t *bytes)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	*bytes += n + 1;
	return p;
}

void
resp_cache_clear(void)
{
	for (size_t b = 0; b < RC__BUCKETS; b++) {
		while (rc__buckets[b] != NULL) {
			struct rc__entry *e = rc__buckets[b];

			rc__buckets[b] = e->next;
			for (size_t i = 0; i < e->nheaders; i++) {
				free((char *)(uintptr_t)e->headers[i].name);
				free((char *)(uintptr_t)e->headers[i].value);
			}
			free(e->uri);
			free(e->content_type);
			free(e->body);
			free(e->etag);
			free(e);
		}
	}
	rc__bytes = 0;
}

void
resp_cache_free(void)
{
	resp_cache_clear();
	free(rc__version);
	rc__version = NULL;
}

void
resp_cache_set_limit(size_t max_bytes)
{
	resp_cache_clear();
	rc__max_bytes = max_bytes;
}

bool
resp_cache_enabled(void)
{
	return rc__max_bytes > 0;
}

void
resp_cache_set_version(const char *version)
{
	if (rc__version != NULL && strcmp(version, rc__version) == 0)
		return;
	resp_cache_clear();
	free(rc__version);
	rc__version = strdup(version);
	if (rc__version == NULL)
		abort();
}

bool
resp_cache_lookup(const char *uri, struct http_response *res)
{
	for (struct rc__entry *e = rc__buckets[rc__bucket(uri)]; e != NULL; e = e->next) {
		if (strcmp(e->uri, uri) != 0)
			continue;
		res->status = e->status;
		res->content_type = e->content_type;
		res->body = e->body;
		res->body_len = e->body_len;
		res->nheaders = 0;
		for (size_t i = 0; i < e->nheaders; i++)
			http_add_header(res, e->headers[i].name, e->headers[i].value);
		res->etag = e->etag;
		return true;
	}
	return false;
}

void
resp_cache_store(const char *uri, const struct http_response *res)
{
	struct rc__entry *e;
	size_t bucket;

	/* one entry may take a sixteenth of the bound: big bodies do not flush everything */
	if (!resp_cache_enabled() || res->status != 200 || res->body == NULL || res->body_len > rc__max_bytes / 16)
		return;
	if (rc__bytes + res->body_len > rc__max_bytes)
		resp_cache_clear();
	e = calloc(1, sizeof *e);
	if (e == NULL)
		abort();
	e->bytes = sizeof *e;
	e->uri = rc__dup(uri, strlen(uri), &e->bytes);
	e->status = res->status;
	e->content_type = rc__dup(res->content_type, strlen(res->content_type), &e->bytes);
	e->body = rc__dup(res->body, res->body_len, &e->bytes);
	e->body_len = res->body_len;
	for (size_t i = 0; i < res->nheaders; i++) {
		e->headers[i].name = rc__dup(res->headers[i].name, strlen(res->headers[i].name), &e->bytes);
		e->headers[i].value = rc__dup(res->headers[i].value, strlen(res->headers[i].value), &e->bytes);
	}
	e->nheaders = res->nheaders;
	if (res->etag != NULL)
		e->etag = rc__dup(res->etag, strlen(res->etag), &e->bytes);
	bucket = rc__bucket(uri);
	e->next = rc__buckets[bucket];
	rc__buckets[bucket] = e;
	rc__bytes += e->bytes;
}
