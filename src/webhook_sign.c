/* Standard Webhooks v1 secrets and signatures (include/webhook_sign.h). */
#include "webhook_sign.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define WEBHOOK__PREFIX "whsec_"

void
webhook_secret_new(char out[WEBHOOK_SECRET_MAX])
{
	unsigned char key[WEBHOOK_KEY_BYTES];

	randombytes_buf(key, sizeof key);
	memcpy(out, WEBHOOK__PREFIX, sizeof WEBHOOK__PREFIX - 1);
	sodium_bin2base64(out + sizeof WEBHOOK__PREFIX - 1, WEBHOOK_SECRET_MAX - (sizeof WEBHOOK__PREFIX - 1), key,
			  sizeof key, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof key);
}

bool
webhook_secret_parse(const char *secret, unsigned char key[WEBHOOK_KEY_MAX], size_t *key_len)
{
	const char *b64 = secret, *end = NULL;
	size_t n;

	if (strncmp(b64, WEBHOOK__PREFIX, sizeof WEBHOOK__PREFIX - 1) == 0)
		b64 += sizeof WEBHOOK__PREFIX - 1;
	n = strlen(b64);
	if (sodium_base642bin(key, WEBHOOK_KEY_MAX, b64, n, NULL, key_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + n || *key_len < WEBHOOK_KEY_MIN) {
		sodium_memzero(key, WEBHOOK_KEY_MAX);
		return false;
	}
	return true;
}

void
webhook_sign(const unsigned char *key, size_t key_len, const char *msg_id, long long timestamp, const char *body,
	     size_t body_len, char out[WEBHOOK_SIGNATURE_MAX])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char ts[32];
	int n = snprintf(ts, sizeof ts, ".%lld.", timestamp);

	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg_id, strlen(msg_id));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, WEBHOOK_SIGNATURE_MAX - 3, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
}
