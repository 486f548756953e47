/* A minimal unit test harness: CHECK macros that count failures, one process per test file. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		check_count++;                                                                   \
		if (!(cond)) {                                                                   \
			check_failures++;                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_STR(got, want)                                                                                \
	do {                                                                                                \
		const char *check_g = (got), *check_w = (want);                                             \
		check_count++;                                                                              \
		if ((check_g == NULL) != (check_w == NULL) ||                                               \
		    (check_g != NULL && check_w != NULL && strcmp(check_g, check_w) != 0)) {                \
			check_failures++;                                                                   \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #got, \
				check_g ? check_g : "(null)", check_w ? check_w : "(null)");                \
		}                                                                                           \
	} while (0)

#define CHECK_INT(got, want)                                                                                     \
	do {                                                                                                     \
		long long check_g = (long long)(got), check_w = (long long)(want);                               \
		check_count++;                                                                                   \
		if (check_g != check_w) {                                                                        \
			check_failures++;                                                                        \
			fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, #got, check_g, \
				check_w);                                                                        \
		}                                                                                                \
	} while (0)

/* Ends main(): prints a summary and returns the exit status ctest reads. */
#define CHECK_DONE()                                                                    \
	do {                                                                            \
		fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures); \
		return check_failures == 0 && check_count > 0 ? 0 : 1;                  \
	} while (0)

#endif
