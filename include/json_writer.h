/* Compact JSON written straight into a buffer, for the documents built from many rows
 * (releases, devices). Commas are placed by the writer; strings are escaped; text that
 * PostgreSQL already produced as JSON (json_agg, array_to_json) is copied as it is. */
#ifndef JSON_WRITER_H
#define JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define JW_MAX_DEPTH 16

struct jw;

/* A writer whose buffer is freed with the arena. */
struct jw *jw_new(struct arena *a);

void jw_object_begin(struct jw *w);
void jw_object_end(struct jw *w);
void jw_array_begin(struct jw *w);
void jw_array_end(struct jw *w);
/* The key of the next member of an object. */
void jw_key(struct jw *w, const char *key);
/* A string, or null when s is NULL. */
void jw_string(struct jw *w, const char *s);
void jw_int(struct jw *w, long long v);
void jw_null(struct jw *w);
/* One complete JSON value, trusted to be valid (from PostgreSQL's JSON functions). */
void jw_raw(struct jw *w, const char *json);

/* The text so far (NUL-terminated; valid until the arena is reset) and its length. */
const char *jw_text(const struct jw *w, size_t *len);

#endif
