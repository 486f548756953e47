/* SipHash-2-4 (libsodium's crypto_shorthash): a keyed 64-bit hash, for cursor MACs, entity tags, cache buckets. */
#ifndef SIPHASH_H
#define SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

/* The reference implementation's uint64_t: the 8 output bytes read little-endian. Needs no sodium_init(). */
uint64_t siphash24(const unsigned char key[SIPHASH_KEY_SIZE], const void *data, size_t len);

#endif
