/* What every fuzz target shares: libFuzzer's entry points, a property check, inputs as files. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libFuzzer calls these (replay_main.c too, for the corpora in ctest). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property that does not hold: a finding, whatever the sanitizers say. */
#define FUZZ_CHECK(cond)                                      \
	do {                                                  \
		if (!(cond))                                  \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* The process's arena, created on first use: a target resets it after each input. */
struct arena *fuzz_arena(void);

/* data[0..size) as a NUL-terminated string, in a buffer of its own (freed by the next call). */
char *fuzz_string(const uint8_t *data, size_t size);

/* Writes data[0..size) to a file named name in a directory of this process (removed at
 * exit) and returns its path: for the readers that take a path. */
const char *fuzz_file(const char *name, const uint8_t *data, size_t size);

/* Reads the input as the file name (its extension chooses the reader) with imp_check, as
 * `romtrack import --check` does, and checks what it prints. */
void fuzz_import_check(const char *name, const uint8_t *data, size_t size);

/* True when s[0..len) is valid UTF-8 (an independent decoder, not src/utf8.c). */
bool fuzz_utf8_valid(const unsigned char *s, size_t len);

#endif
