/* Growable byte buffers, and whole files read into one: the one place memory grows by doubling. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUF__MIN_CAP 256

static void
buf__oom(void)
{
	fputs("romtrack: out of memory\n", stderr);
	abort();
}

void
buf_grow(struct buf *b, size_t n)
{
	size_t cap;

	if (n > SIZE_MAX / 2 - b->len)
		buf__oom();
	if (b->len + n + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : BUF__MIN_CAP;
	while (cap < b->len + n + 1)
		cap *= 2;
	if ((b->data = realloc(b->data, cap)) == NULL)
		buf__oom();
	b->cap = cap;
	b->data[b->len] = '\0';
}

void
buf_put(struct buf *b, const void *s, size_t n)
{
	buf_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	buf_grow(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort(); /* a programming error: a bad format */
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){0};
}

bool
buf_read_file(struct buf *b, const char *path, size_t max_bytes, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t size;
	bool ok = false;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fileno(f), &st) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: not a regular file", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > max_bytes) {
		snprintf(err, errlen, "%s: %lld bytes, larger than the limit of %zu bytes", path, (long long)st.st_size,
			 max_bytes);
		goto out;
	}
	size = (size_t)st.st_size;
	buf_grow(b, size);
	if (fread(b->data + b->len, 1, size, f) != size) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 ferror(f) ? strerror(errno) : "the file became shorter while it was read");
		b->data[b->len] = '\0';
		goto out;
	}
	b->len += size;
	b->data[b->len] = '\0';
	ok = true;
out:
	fclose(f);
	return ok;
}
