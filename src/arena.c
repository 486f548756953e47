/* Bump allocation in chained blocks, plus a stack of clean-up hooks. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA__BLOCK 16384

struct arena__block {
	struct arena__block *next;
	size_t used, size;
	max_align_t data[];
};

struct arena__cleanup {
	struct arena__cleanup *next;
	arena_cleanup_fn fn;
	void *ptr;
};

struct arena {
	struct arena__block *blocks; /* newest first; the last one is kept on reset */
	struct arena__cleanup *cleanups;
};

static void *
arena__xmalloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL) {
		fputs("romtrack: out of memory\n", stderr);
		abort();
	}
	return p;
}

static struct arena__block *
arena__block_new(size_t min)
{
	size_t size = min > ARENA__BLOCK ? min : ARENA__BLOCK;
	struct arena__block *b = arena__xmalloc(sizeof *b + size);

	b->next = NULL;
	b->used = 0;
	b->size = size;
	return b;
}

struct arena *
arena_new(void)
{
	struct arena *a = arena__xmalloc(sizeof *a);

	a->blocks = arena__block_new(0);
	a->cleanups = NULL;
	return a;
}

void
arena_reset(struct arena *a)
{
	while (a->cleanups != NULL) {
		struct arena__cleanup *c = a->cleanups;

		a->cleanups = c->next;
		c->fn(c->ptr);
	}
	while (a->blocks->next != NULL) {
		struct arena__block *b = a->blocks;

		a->blocks = b->next;
		free(b);
	}
	a->blocks->used = 0;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	free(a->blocks);
	free(a);
}

void *
arena_alloc(struct arena *a, size_t size)
{
	size_t align = sizeof(max_align_t);
	struct arena__block *b = a->blocks;
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	if (b->size - b->used < size) {
		b = arena__block_new(size);
		b->next = a->blocks;
		a->blocks = b;
	}
	p = (char *)b->data + b->used;
	b->used += size;
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	char *p;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

void
arena_cleanup_add(struct arena *a, arena_cleanup_fn fn, void *ptr)
{
	struct arena__cleanup *c = arena_alloc(a, sizeof *c);

	c->fn = fn;
	c->ptr = ptr;
	c->next = a->cleanups;
	a->cleanups = c;
}

static void
arena__free_buffer(void *ptr)
{
	free(ptr);
}

void *
arena_adopt(struct arena *a, void *ptr)
{
	arena_cleanup_add(a, arena__free_buffer, ptr);
	return ptr;
}
