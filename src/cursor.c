/* Cursor tokens: base64url(JSON array of sort-key strings) "." base64url(SipHash MAC), through libsodium. */
#include "cursor.h"

#include "siphash.h"

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned char cursor__key[CURSOR_KEY_SIZE];

void
cursor_set_key(const unsigned char key[CURSOR_KEY_SIZE])
{
	memcpy(cursor__key, key, CURSOR_KEY_SIZE);
}

void
cursor_set_secret(const char *secret)
{
	/* Two SipHash runs under fixed keys spread any secret over the 16 key bytes. */
	static const unsigned char k1[CURSOR_KEY_SIZE] = "romtrack-cursor1";
	static const unsigned char k2[CURSOR_KEY_SIZE] = "romtrack-cursor2";
	uint64_t a = siphash24(k1, secret, strlen(secret));
	uint64_t b = siphash24(k2, secret, strlen(secret));

	memcpy(cursor__key, &a, 8);
	memcpy(cursor__key + 8, &b, 8);
}

#define CURSOR__B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static char *
cursor__b64_encode(struct arena *a, const unsigned char *in, size_t len)
{
	size_t olen = sodium_base64_ENCODED_LEN(len, CURSOR__B64);
	char *out = arena_alloc(a, olen);

	return sodium_bin2base64(out, olen, in, len, CURSOR__B64);
}

/* Decodes unpadded base64url; NULL on a bad character (NUL included) or length, or unused bits that are not
 * zero (libsodium refuses those: one token has one spelling, and a cursor is part of a cache key). */
static unsigned char *
cursor__b64_decode(struct arena *a, const char *in, size_t len, size_t *outlen)
{
	unsigned char *out = arena_alloc(a, len * 3 / 4 + 1);

	/* no characters to ignore, and no end pointer: anything not decoded is an error */
	if (sodium_base642bin(out, len * 3 / 4 + 1, in, len, NULL, outlen, NULL, CURSOR__B64) != 0)
		return NULL;
	out[*outlen] = '\0';
	return out;
}

static uint64_t
cursor__mac(const char *scope, const char *payload, size_t len)
{
	size_t slen = strlen(scope);
	char *buf = malloc(slen + 1 + len);
	uint64_t mac;

	if (buf == NULL)
		abort();
	memcpy(buf, scope, slen + 1); /* the NUL separates scope from payload */
	memcpy(buf + slen + 1, payload, len);
	mac = siphash24(cursor__key, buf, slen + 1 + len);
	free(buf);
	return mac;
}

char *
cursor_encode(struct arena *a, const char *scope, const char *const *fields, size_t n)
{
	json_t *arr = json_array();
	unsigned char macbytes[8];
	uint64_t mac;
	char *payload, *out;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(fields[i]));
	payload = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (payload == NULL)
		abort();
	mac = cursor__mac(scope, payload, strlen(payload));
	for (int i = 0; i < 8; i++)
		macbytes[i] = (unsigned char)(mac >> (8 * i));
	out = arena_printf(a, "%s.%s", cursor__b64_encode(a, (const unsigned char *)payload, strlen(payload)),
			   cursor__b64_encode(a, macbytes, sizeof macbytes));
	free(payload);
	return out;
}

bool
cursor_decode(struct arena *a, const char *scope, const char *token, const char **fields, size_t n)
{
	const char *dot = strchr(token, '.');
	unsigned char *payload, *macbytes, expected[8];
	size_t plen, mlen;
	uint64_t mac;
	json_t *arr;
	bool ok = false;

	if (dot == NULL)
		return false;
	payload = cursor__b64_decode(a, token, (size_t)(dot - token), &plen);
	macbytes = cursor__b64_decode(a, dot + 1, strlen(dot + 1), &mlen);
	if (payload == NULL || macbytes == NULL || mlen != 8)
		return false;
	mac = cursor__mac(scope, (const char *)payload, plen);
	for (int i = 0; i < 8; i++)
		expected[i] = (unsigned char)(mac >> (8 * i));
	/* constant time, so that the time of a rejection does not tell a forger how many leading bytes were right */
	if (sodium_memcmp(macbytes, expected, sizeof expected) != 0)
		return false;
	arr = json_loadb((const char *)payload, plen, 0, NULL);
	if (!json_is_array(arr) || json_array_size(arr) != n)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);

		if (!json_is_string(s))
			goto out;
		fields[i] = arena_strdup(a, json_string_value(s));
	}
	ok = true;
out:
	json_decref(arr);
	return ok;
}
