/* SipHash-2-4 through libsodium's crypto_shorthash (which is SipHash-2-4), as a 64-bit value. */
#include "siphash.h"

#include <sodium.h>

_Static_assert(SIPHASH_KEY_SIZE == crypto_shorthash_KEYBYTES, "SipHash-2-4 takes a 16-byte key");
_Static_assert(crypto_shorthash_BYTES == 8, "SipHash-2-4 gives 8 bytes");

uint64_t
siphash24(const unsigned char key[SIPHASH_KEY_SIZE], const void *data, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(out, data, (unsigned long long)len, key);
	/* the reference implementation's 64-bit result, stored little-endian */
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | out[i];
	return v;
}
