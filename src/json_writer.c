/* The JSON writer: a growing buffer (buf.h), a stack of "a value was written at this depth"
 * flags for commas, and string escaping as RFC 8259 requires (quote, backslash and
 * control characters; UTF-8 passes through). */
#include "json_writer.h"

#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jw {
	struct buf out;
	unsigned depth;
	bool after_key;                   /* the next value completes a member */
	bool has_value[JW_MAX_DEPTH + 1]; /* whether the container at each depth has one */
};

static void
jw__free(void *p)
{
	struct jw *w = p;

	buf_free(&w->out);
}

struct jw *
jw_new(struct arena *a)
{
	struct jw *w = arena_alloc(a, sizeof *w);

	memset(w, 0, sizeof *w);
	buf_grow(&w->out, 16384); /* most documents fit */
	arena_cleanup_add(a, jw__free, w);
	return w;
}

static void
jw__put(struct jw *w, const char *s, size_t n)
{
	buf_put(&w->out, s, n);
}

/* The comma before a value, unless it is the first of its container or follows a key. */
static void
jw__value(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->has_value[w->depth])
		jw__put(w, ",", 1);
	w->has_value[w->depth] = true;
}

static void
jw__open(struct jw *w, const char *bracket)
{
	jw__value(w);
	jw__put(w, bracket, 1);
	if (w->depth == JW_MAX_DEPTH)
		abort(); /* a programming error: documents are a few levels deep */
	w->has_value[++w->depth] = false;
}

static void
jw__close(struct jw *w, const char *bracket)
{
	jw__put(w, bracket, 1);
	w->depth--;
}

void
jw_object_begin(struct jw *w)
{
	jw__open(w, "{");
}

void
jw_object_end(struct jw *w)
{
	jw__close(w, "}");
}

void
jw_array_begin(struct jw *w)
{
	jw__open(w, "[");
}

void
jw_array_end(struct jw *w)
{
	jw__close(w, "]");
}

/* A quoted string: runs of plain bytes are copied at once. */
static void
jw__quoted(struct jw *w, const char *s)
{
	const char *run = s;

	jw__put(w, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *esc = NULL;
		char hex[8];

		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (*p < 0x20) {
				snprintf(hex, sizeof hex, "\\u%04x", *p);
				esc = hex;
			}
		}
		if (esc != NULL) {
			jw__put(w, run, (size_t)((const char *)p - run));
			jw__put(w, esc, strlen(esc));
			run = (const char *)p + 1;
		}
	}
	jw__put(w, run, strlen(run));
	jw__put(w, "\"", 1);
}

void
jw_key(struct jw *w, const char *key)
{
	jw__value(w);
	jw__quoted(w, key);
	jw__put(w, ":", 1);
	w->after_key = true;
}

void
jw_string(struct jw *w, const char *s)
{
	if (s == NULL) {
		jw_null(w);
		return;
	}
	jw__value(w);
	jw__quoted(w, s);
}

void
jw_int(struct jw *w, long long v)
{
	char num[32];
	int n = snprintf(num, sizeof num, "%lld", v);

	jw__value(w);
	jw__put(w, num, (size_t)n);
}

void
jw_null(struct jw *w)
{
	jw__value(w);
	jw__put(w, "null", 4);
}

void
jw_raw(struct jw *w, const char *json)
{
	jw__value(w);
	jw__put(w, json, strlen(json));
}

const char *
jw_text(const struct jw *w, size_t *len)
{
	if (len != NULL)
		*len = w->out.len;
	return w->out.data;
}
