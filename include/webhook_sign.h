/* Standard Webhooks v1 signing secrets and signatures (issue 12): a secret is "whsec_" and the standard base64 of
 * its key; a signature is "v1," and the standard base64 of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>").
 * libsodium does the random bytes and the base64, OpenSSL's libcrypto (libcurl's TLS library already) the HMAC. */
#ifndef WEBHOOK_SIGN_H
#define WEBHOOK_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#define WEBHOOK_KEY_BYTES 32 /* the keys romtrack makes */
#define WEBHOOK_KEY_MIN 24   /* the specification's range for keys it is given */
#define WEBHOOK_KEY_MAX 64
/* "whsec_" + base64 of WEBHOOK_KEY_MAX bytes + NUL */
#define WEBHOOK_SECRET_MAX (6 + (WEBHOOK_KEY_MAX + 2) / 3 * 4 + 1)
/* "v1," + base64 of 32 bytes + NUL */
#define WEBHOOK_SIGNATURE_MAX (3 + 44 + 1)

/* A new secret of WEBHOOK_KEY_BYTES random bytes: out holds WEBHOOK_SECRET_MAX bytes. */
void webhook_secret_new(char out[WEBHOOK_SECRET_MAX]);

/* The key of a secret ("whsec_" optional, as the specification's libraries accept it): false unless it is
 * standard base64 of WEBHOOK_KEY_MIN to WEBHOOK_KEY_MAX bytes. key holds WEBHOOK_KEY_MAX bytes. */
bool webhook_secret_parse(const char *secret, unsigned char key[WEBHOOK_KEY_MAX], size_t *key_len);

/* The signature of one delivery: msg_id is webhook-id, timestamp webhook-timestamp (seconds), body the exact
 * bytes sent. False when OpenSSL cannot compute an HMAC (out untouched). */
bool webhook_sign(const unsigned char *key, size_t key_len, const char *msg_id, long long timestamp, const char *body,
		  size_t body_len, char out[WEBHOOK_SIGNATURE_MAX]);

#endif
