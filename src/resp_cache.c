/* A hash table of copied responses under a per-worker random SipHash key, that grows with
 * its entries, bounded in bytes by a segmented LRU; a change of the data drops the entries it
 * may affect (those of its devices, and every answer not about one device). */
#include "resp_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "metrics.h"
#include "siphash.h"

#define RC__MIN_BUCKETS 256

/* The two segments of the LRU: new entries start on probation, a hit promotes an entry to
 * the protected segment, which may hold up to RC__PROTECTED_SHARE of the bound; its least
 * recently used entries fall back to probation. Eviction takes probation's oldest first. */
enum rc__segment { RC__PROBATION, RC__PROTECTED, RC__SEGMENTS };
#define RC__PROTECTED_SHARE(max) ((max) / 5 * 4)

struct rc__entry {
	struct rc__entry *chain;         /* next in the bucket */
	struct rc__entry *newer, *older; /* neighbours in the segment's list */
	enum rc__segment segment;
	uint64_t hash;
	char *key;
	int status;
	char *content_type;
	char *body;
	size_t body_len;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	char *etag;
	char *scope;  /* the device codename the answer is about only, NULL when it may show any device */
	size_t bytes; /* what the entry takes: the struct and its copies */
};

static struct {
	struct rc__entry *newest, *oldest;
	size_t bytes;
} rc__segments[RC__SEGMENTS];

/* The bound counts the entries; the bucket array (at most two pointers an entry at its largest)
 * comes on top. */
static struct rc__entry **rc__buckets;
static size_t rc__nbuckets; /* a power of two, or 0 before the first store */
static size_t rc__count;
static size_t rc__max_bytes = 48u * 1024 * 1024;
/* Drawn per worker: bucket positions cannot be predicted, so no one can aim requests at one chain. */
static unsigned char rc__hash_key[SIPHASH_KEY_SIZE];

static void
rc__draw_key(void)
{
	size_t got = 0;

	while (got < sizeof rc__hash_key) {
		ssize_t n = getrandom(rc__hash_key + got, sizeof rc__hash_key - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("getrandom: %s", strerror(errno));
			abort();
		}
		got += (size_t)n;
	}
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

static void
rc__unlink(struct rc__entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		rc__segments[e->segment].newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		rc__segments[e->segment].oldest = e->newer;
	rc__segments[e->segment].bytes -= e->bytes;
	e->newer = e->older = NULL;
}

static void
rc__push_newest(struct rc__entry *e, enum rc__segment segment)
{
	e->segment = segment;
	e->older = rc__segments[segment].newest;
	e->newer = NULL;
	if (e->older != NULL)
		e->older->newer = e;
	else
		rc__segments[segment].oldest = e;
	rc__segments[segment].newest = e;
	rc__segments[segment].bytes += e->bytes;
}

static void
rc__entry_free(struct rc__entry *e)
{
	for (size_t i = 0; i < e->nheaders; i++) {
		free((char *)(uintptr_t)e->headers[i].name);
		free((char *)(uintptr_t)e->headers[i].value);
	}
	free(e->key);
	free(e->content_type);
	free(e->body);
	free(e->etag);
	free(e->scope);
	free(e);
}

/* Takes e out of its bucket and its segment, and frees it. */
static void
rc__evict(struct rc__entry *e)
{
	struct rc__entry **p = &rc__buckets[e->hash & (rc__nbuckets - 1)];

	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	rc__unlink(e);
	rc__count--;
	rc__entry_free(e);
}

/* Doubles the bucket array once there are more entries than buckets. */
static void
rc__grow(void)
{
	size_t n = rc__nbuckets ? rc__nbuckets * 2 : RC__MIN_BUCKETS;
	struct rc__entry **buckets = calloc(n, sizeof *buckets);

	if (buckets == NULL)
		abort();
	for (size_t b = 0; b < rc__nbuckets; b++) {
		while (rc__buckets[b] != NULL) {
			struct rc__entry *e = rc__buckets[b];

			rc__buckets[b] = e->chain;
			e->chain = buckets[e->hash & (n - 1)];
			buckets[e->hash & (n - 1)] = e;
		}
	}
	free(rc__buckets);
	rc__buckets = buckets;
	rc__nbuckets = n;
}

/* Demotes the protected segment's oldest entries beyond its share, then evicts the oldest
 * entries (probation's first) until the cache fits its bound. */
static void
rc__balance(void)
{
	while (rc__segments[RC__PROTECTED].bytes > RC__PROTECTED_SHARE(rc__max_bytes)) {
		struct rc__entry *e = rc__segments[RC__PROTECTED].oldest;

		rc__unlink(e);
		rc__push_newest(e, RC__PROBATION);
	}
	while (rc__segments[RC__PROBATION].bytes + rc__segments[RC__PROTECTED].bytes > rc__max_bytes) {
		struct rc__entry *e = rc__segments[RC__PROBATION].oldest;

		rc__evict(e != NULL ? e : rc__segments[RC__PROTECTED].oldest);
		metrics_cache_evictions(1);
	}
}

static struct rc__entry *
rc__find(const char *key, uint64_t hash)
{
	if (rc__nbuckets == 0)
		return NULL;
	for (struct rc__entry *e = rc__buckets[hash & (rc__nbuckets - 1)]; e != NULL; e = e->chain)
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

void
resp_cache_clear(void)
{
	for (size_t b = 0; b < rc__nbuckets; b++) {
		while (rc__buckets[b] != NULL) {
			struct rc__entry *e = rc__buckets[b];

			rc__buckets[b] = e->chain;
			rc__entry_free(e);
		}
	}
	memset(rc__segments, 0, sizeof rc__segments);
	rc__count = 0;
}

void
resp_cache_free(void)
{
	resp_cache_clear();
	free(rc__buckets);
	rc__buckets = NULL;
	rc__nbuckets = 0;
}

void
resp_cache_init(size_t max_bytes)
{
	resp_cache_clear();
	rc__max_bytes = max_bytes;
	rc__draw_key();
}

bool
resp_cache_enabled(void)
{
	return rc__max_bytes > 0;
}

size_t
resp_cache_count(void)
{
	return rc__count;
}

size_t
resp_cache_bytes(void)
{
	return rc__segments[RC__PROBATION].bytes + rc__segments[RC__PROTECTED].bytes;
}

/* Whether codename is one of the comma-separated list's. */
static bool
rc__listed(const char *list, const char *codename)
{
	size_t len = strlen(codename);

	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");

		if (n == len && memcmp(p, codename, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

void
resp_cache_invalidate(const char *changes)
{
	if (changes[0] == '\0')
		return;
	if (strcmp(changes, "*") == 0) {
		resp_cache_clear();
		return;
	}
	for (int s = 0; s < RC__SEGMENTS; s++) {
		struct rc__entry *e = rc__segments[s].oldest;

		while (e != NULL) {
			struct rc__entry *newer = e->newer;

			if (e->scope == NULL || rc__listed(changes, e->scope))
				rc__evict(e);
			e = newer;
		}
	}
}

const char *
resp_cache_key(struct arena *a, const struct route_match *m, const struct params *p, const char *media_type)
{
	unsigned allowed = m->route->params;
	const char *key = arena_printf(a, "%s?", m->canonical_path);

	for (int id = 0; id < PARAM__MAX; id++) {
		if (id == PARAM_LIMIT && (allowed & PARAM_BIT(PARAM_LIMIT)))
			key = arena_printf(a, "%slimit=%ld&", key, p->limit);
		else if (id != PARAM_LIMIT && p->value[id] != NULL)
			key = arena_printf(a, "%s%s=%s&", key, param_name((enum param_id)id),
					   http_encode(a, p->value[id]));
	}
	return arena_printf(a, "%s|%s", key, http_encode(a, media_type));
}

bool
resp_cache_admits(const struct route_match *m, const struct params *p)
{
	return resp_cache_enabled() && !(m->route->flags & ROUTE_LIVE) && params_cacheable(p);
}

bool
resp_cache_lookup(const char *key, struct http_response *res)
{
	struct rc__entry *e = rc__find(key, siphash24(rc__hash_key, key, strlen(key)));

	if (e == NULL)
		return false;
	rc__unlink(e);
	rc__push_newest(e, RC__PROTECTED);
	rc__balance();
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

void
resp_cache_store(const char *key, const struct http_response *res, const char *scope)
{
	uint64_t hash = siphash24(rc__hash_key, key, strlen(key));
	struct rc__entry *e;

	/* one entry may take a sixteenth of the bound: big bodies do not flush everything */
	if (!resp_cache_enabled() || res->status != 200 || res->body == NULL || res->body_len > rc__max_bytes / 16)
		return;
	e = rc__find(key, hash);
	if (e != NULL)
		rc__evict(e);
	e = calloc(1, sizeof *e);
	if (e == NULL)
		abort();
	e->bytes = sizeof *e;
	e->hash = hash;
	e->key = rc__dup(key, strlen(key), &e->bytes);
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
	if (scope != NULL)
		e->scope = rc__dup(scope, strlen(scope), &e->bytes);
	if (rc__count >= rc__nbuckets)
		rc__grow();
	e->chain = rc__buckets[hash & (rc__nbuckets - 1)];
	rc__buckets[hash & (rc__nbuckets - 1)] = e;
	rc__count++;
	rc__push_newest(e, RC__PROBATION);
	rc__balance();
}
