/* Replays fuzz inputs without libFuzzer: each file given, or each file of each directory given. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
replay__file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			unsigned char *more = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (more == NULL)
				abort();
			buf = more;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		perror(path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	/* a copy of exactly len bytes, so that ASan sees a read past the input */
	{
		unsigned char *input = malloc(len ? len : 1);

		if (input == NULL)
			abort();
		memcpy(input, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(input, len);
		free(input);
	}
	return 0;
}

static int
replay__cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the regular files of dir in name order; returns how many, or -1. */
static long
replay__dir(const char *dir)
{
	char **names = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	long done = 0;
	DIR *d = opendir(dir);

	if (d == NULL) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (count == cap) {
			char **more = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof *names);

			if (more == NULL)
				abort();
			names = more;
		}
		if ((names[count++] = strdup(de->d_name)) == NULL)
			abort();
	}
	closedir(d);
	if (count > 1)
		qsort(names, count, sizeof *names, replay__cmp);
	for (size_t i = 0; i < count; i++) {
		char *path = malloc(strlen(dir) + strlen(names[i]) + 2);
		struct stat st;

		if (path == NULL)
			abort();
		sprintf(path, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay__file(path) != 0)
				done = -1;
			else if (done >= 0)
				done++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return done;
}

int
main(int argc, char **argv)
{
	long total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long n;

		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		n = S_ISDIR(st.st_mode) ? replay__dir(argv[i]) : replay__file(argv[i]) == 0 ? 1 : -1;
		if (n <= 0) {
			fprintf(stderr, "%s: %s\n", argv[i], n == 0 ? "no input to replay" : "cannot be replayed");
			return 1;
		}
		total += n;
	}
	printf("%ld inputs replayed without a finding\n", total);
	return 0;
}
