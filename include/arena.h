/* A memory arena per request: allocations and clean-up hooks released at once. */
#ifndef ARENA_H
#define ARENA_H

#include <stddef.h>

struct arena;

typedef void (*arena_cleanup_fn)(void *ptr);

struct arena *arena_new(void);
/* Releases everything allocated and runs clean-up hooks (last registered first);
 * keeps the first block for reuse. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

/* Allocation never returns NULL: out of memory aborts the worker, the master restarts it. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Registers fn(ptr) to run at reset; for PGresult, json_t and malloc'd buffers. */
void arena_cleanup_add(struct arena *a, arena_cleanup_fn fn, void *ptr);
/* A malloc'd buffer (json_dumps' text, say) freed at reset; returns ptr. */
void *arena_adopt(struct arena *a, void *ptr);

#endif
