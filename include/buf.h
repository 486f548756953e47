/* Growable byte buffers (text, COPY data, arrays of pointers), and whole files read into one. */
#ifndef BUF_H
#define BUF_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes appended at the end, growing as needed; {0} is an empty buffer (data NULL). Once
 * anything was appended or reserved, data[len] is a NUL, so text is a C string (setting len to 0
 * empties it and keeps the memory for what comes next). Out of memory aborts, as arena_alloc
 * does: in a worker, the master replaces it. */
struct buf {
	char *data;
	size_t len, cap;
};

/* Makes room for n more bytes (and the NUL after them) without changing len. */
void buf_grow(struct buf *b, size_t n);
void buf_put(struct buf *b, const void *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the bytes; b is empty again. */
void buf_free(struct buf *b);

/* A buf as an array: BUF_PUSH(&b, item) appends the value of the lvalue item, BUF_COUNT(&b, type)
 * is how many of that type it holds and BUF_ITEMS(&b, type) points to the first, e.g.
 * `char *s = strdup(x); BUF_PUSH(&names, s); ... BUF_ITEMS(&names, char *)[i]`. */
#define BUF_PUSH(b, item) buf_put((b), &(item), sizeof(item))
#define BUF_COUNT(b, type) ((b)->len / sizeof(type))
#define BUF_ITEMS(b, type) ((type *)(void *)(b)->data)

/* Appends the whole regular file at path (at most max_bytes) to b. On failure returns false
 * with "path: what is wrong" in err, and b is as it was. */
bool buf_read_file(struct buf *b, const char *path, size_t max_bytes, char *err, size_t errlen);

#endif
