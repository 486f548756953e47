/* Standard Webhooks v1 secrets and signatures (include/webhook_sign.h). */
#include "webhook_sign.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
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

/* OpenSSL's HMAC-SHA256, fetched and set up once per process (romtrack's processes sign from one thread): its
 * SHA-256 uses the CPU's SHA extensions where there are some, about four times libsodium's portable one for a
 * delivery's body (bench/deliver.py). NULL when OpenSSL has no HMAC (a configuration without its default
 * provider). */
static EVP_MAC_CTX *
webhook__hmac(void)
{
	static EVP_MAC_CTX *ctx;

	if (ctx == NULL) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
				       OSSL_PARAM_construct_end()};

		ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac); /* the context holds its own reference */
		if (ctx != NULL && !EVP_MAC_CTX_set_params(ctx, params)) {
			EVP_MAC_CTX_free(ctx);
			ctx = NULL;
		}
	}
	return ctx;
}

bool
webhook_sign(const unsigned char *key, size_t key_len, const char *msg_id, long long timestamp, const char *body,
	     size_t body_len, char out[WEBHOOK_SIGNATURE_MAX])
{
	EVP_MAC_CTX *setup = webhook__hmac();
	/* a copy per signature: freeing it wipes the key it was given */
	EVP_MAC_CTX *ctx = setup != NULL ? EVP_MAC_CTX_dup(setup) : NULL;
	unsigned char mac[32];
	size_t mac_len = 0;
	char ts[32];
	int n = snprintf(ts, sizeof ts, ".%lld.", timestamp);
	bool ok = ctx != NULL && EVP_MAC_init(ctx, key, key_len, NULL) &&
		  EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id)) &&
		  EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)n) &&
		  EVP_MAC_update(ctx, (const unsigned char *)body, body_len) &&
		  EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) && mac_len == sizeof mac;

	EVP_MAC_CTX_free(ctx);
	if (ok) {
		memcpy(out, "v1,", 3);
		sodium_bin2base64(out + 3, WEBHOOK_SIGNATURE_MAX - 3, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
	}
	sodium_memzero(mac, sizeof mac);
	return ok;
}
