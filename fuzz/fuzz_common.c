/* Helpers of the fuzz targets: property failures, inputs as strings and as files. */
#include "fuzz.h"

#include "arena.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"

static char *fuzz__buf;
static char fuzz__dir[PATH_MAX];
static char fuzz__path[PATH_MAX];

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property failed: %s\n", file, line, what);
	abort();
}

char *
fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	free(fuzz__buf);
	fuzz__buf = s;
	return s;
}

static void
fuzz__cleanup(void)
{
	free(fuzz__buf);
	fuzz__buf = NULL;
	if (fuzz__path[0] != '\0')
		unlink(fuzz__path);
	if (fuzz__dir[0] != '\0')
		rmdir(fuzz__dir);
}

const char *
fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	int fd;

	if (fuzz__dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		snprintf(fuzz__dir, sizeof fuzz__dir, "%s/romtrack-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
		if (mkdtemp(fuzz__dir) == NULL) {
			perror(fuzz__dir);
			abort();
		}
		atexit(fuzz__cleanup);
	}
	if (fuzz__path[0] != '\0')
		unlink(fuzz__path);
	if ((size_t)snprintf(fuzz__path, sizeof fuzz__path, "%s/%s", fuzz__dir, name) >= sizeof fuzz__path)
		abort();
	fd = open(fuzz__path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(fuzz__path);
		abort();
	}
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0) {
			perror(fuzz__path);
			abort();
		}
		off += (size_t)n;
	}
	close(fd);
	return fuzz__path;
}

/* RFC 3629's grammar, byte ranges after each lead byte. */
bool
fuzz_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t tail;

		if (c <= 0x7f) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			tail = 1;
		else if (c == 0xe0)
			tail = 2, lo = 0xa0;
		else if (c == 0xed)
			tail = 2, hi = 0x9f;
		else if (c >= 0xe1 && c <= 0xef)
			tail = 2;
		else if (c == 0xf0)
			tail = 3, lo = 0x90;
		else if (c == 0xf4)
			tail = 3, hi = 0x8f;
		else if (c >= 0xf1 && c <= 0xf3)
			tail = 3;
		else
			return false;
		if (len - i - 1 < tail || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= tail; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += tail + 1;
	}
	return true;
}

/*
 * Reads the input as a file named name and checks what imp_check prints: one
 * JSON object per card, each for the file read; as many as there were cards when the
 * run succeeds, and an error message when it fails.
 */
void
fuzz_import_check(const char *name, const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(name, data, size);
	struct imp_summary sum;
	char err[1024] = "", *out = NULL, *line;
	size_t outlen = 0, rows = 0;
	FILE *f = open_memstream(&out, &outlen);
	bool ok;

	if (f == NULL)
		abort();
	ok = imp_check(&path, 1, f, &sum, err, sizeof err);
	fclose(f);
	FUZZ_CHECK(ok || err[0] != '\0');
	FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
	FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)out, outlen));
	for (line = out; line < out + outlen;) {
		char *nl = memchr(line, '\n', (size_t)(out + outlen - line));
		json_error_t jerr;
		json_t *row;

		FUZZ_CHECK(nl != NULL);
		row = json_loadb(line, (size_t)(nl - line), 0, &jerr);
		if (row == NULL)
			fprintf(stderr, "row %zu is not JSON (%s): %.*s\n", rows + 1, jerr.text, (int)(nl - line),
				line);
		FUZZ_CHECK(json_is_object(row));
		FUZZ_CHECK(json_is_string(json_object_get(row, "file")) &&
			   strcmp(json_string_value(json_object_get(row, "file")), path) == 0);
		FUZZ_CHECK(json_is_string(json_object_get(row, "filename")) &&
			   json_string_length(json_object_get(row, "filename")) > 0);
		FUZZ_CHECK(json_is_string(json_object_get(row, "device")) &&
			   json_is_string(json_object_get(row, "version")));
		json_decref(row);
		rows++;
		line = nl + 1;
	}
	FUZZ_CHECK(rows <= sum.cards);
	if (ok)
		FUZZ_CHECK(rows == sum.cards && sum.files == 1);
	imp_summary_free(&sum);
	free(out);
}

struct arena *
fuzz_arena(void)
{
	static struct arena *a;

	if (a == NULL)
		a = arena_new();
	return a;
}
