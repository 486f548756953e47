/* Keyset pagination cursors: opaque, signed, and bound to the query they were issued for. */
#ifndef CURSOR_H
#define CURSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define CURSOR_KEY_SIZE 16
#define CURSOR_MAX_FIELDS 4

/* Sets the signing key (every worker of a pool must share it). */
void cursor_set_key(const unsigned char key[CURSOR_KEY_SIZE]);
/* Derives the key from a configured secret string. */
void cursor_set_secret(const char *secret);

/* Encodes n strings (the sort key of the last row) into a token bound to scope
 * (the route and its filters). */
char *cursor_encode(struct arena *a, const char *scope, const char *const *fields, size_t n);
/* Decodes a token; false when it is malformed, was altered, or belongs to another scope. */
bool cursor_decode(struct arena *a, const char *scope, const char *token, const char **fields, size_t n);

#endif
