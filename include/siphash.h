/* SipHash-2-4: a keyed 64-bit hash, for cursor MACs and entity tags. */
#ifndef SIPHASH_H
#define SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

uint64_t siphash24(const unsigned char key[SIPHASH_KEY_SIZE], const void *data, size_t len);

#endif
