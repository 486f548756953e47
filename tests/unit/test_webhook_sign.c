/* Standard Webhooks v1 signing (src/webhook_sign.c). The expected signature is the specification's own test
 * vector (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py, test_sign_function),
 * checked again by hand with Python's hmac and base64 modules:
 *   python3 -c 'import hmac,hashlib,base64; k=base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
 *     print(base64.b64encode(hmac.new(k, b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}",
 *     hashlib.sha256).digest()))' */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "webhook_sign.h"

static void
test_specification_vector(void)
{
	static const char payload[] = "{\"test\": 2432232314}";
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t key_len = 0;
	char sig[WEBHOOK_SIGNATURE_MAX];

	CHECK(webhook_secret_parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &key_len));
	CHECK_INT(key_len, 24);
	CHECK(webhook_sign(key, key_len, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, payload, strlen(payload), sig));
	CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* without the prefix, as the specification's libraries accept it */
	CHECK(webhook_secret_parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &key_len) && key_len == 24);
	/* one byte of the body more: another signature */
	CHECK(webhook_sign(key, key_len, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, payload, strlen(payload) - 1,
			   sig));
	CHECK(strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0);
}

static void
test_new_secrets(void)
{
	char a[WEBHOOK_SECRET_MAX], b[WEBHOOK_SECRET_MAX];
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t key_len = 0;

	webhook_secret_new(a);
	webhook_secret_new(b);
	CHECK(strncmp(a, "whsec_", 6) == 0);
	CHECK_INT(strlen(a), 6 + 44); /* base64 of 32 bytes, padded */
	CHECK(strcmp(a, b) != 0);
	CHECK(webhook_secret_parse(a, key, &key_len));
	CHECK_INT(key_len, WEBHOOK_KEY_BYTES);
}

static void
test_bad_secrets(void)
{
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t key_len;

	CHECK(!webhook_secret_parse("", key, &key_len));
	CHECK(!webhook_secret_parse("whsec_", key, &key_len));
	CHECK(!webhook_secret_parse("whsec_c2hvcnQ=", key, &key_len)); /* "short": 5 bytes, under 24 */
	CHECK(!webhook_secret_parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", key, &key_len));
	CHECK(!webhook_secret_parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", key, &key_len));
	CHECK(!webhook_secret_parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw_-", key,
				    &key_len)); /* URL-safe is not it */
	{
		/* 65 bytes: over the specification's 64 */
		unsigned char big[65] = {0};
		char b64[sodium_base64_ENCODED_LEN(65, sodium_base64_VARIANT_ORIGINAL)];

		sodium_bin2base64(b64, sizeof b64, big, sizeof big, sodium_base64_VARIANT_ORIGINAL);
		CHECK(!webhook_secret_parse(b64, key, &key_len));
	}
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_specification_vector();
	test_new_secrets();
	test_bad_secrets();
	CHECK_DONE();
}
