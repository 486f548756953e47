/* Cursors: round trip, binding to their scope, tamper detection (SipHash itself: test_siphash.c). */
#include "check.h"

#include "arena.h"
#include "cursor.h"

int
main(void)
{
	struct arena *a = arena_new();
	const char *fields[3] = {"2017-03-23", "0221.", "17"}, *out[3] = {NULL, NULL, NULL};
	char *token, *bad;

	cursor_set_secret("a secret of more than sixteen characters");
	token = cursor_encode(a, "/api/devices/{codename}/releases|cancro?branch=weekly", fields, 3);
	CHECK(cursor_decode(a, "/api/devices/{codename}/releases|cancro?branch=weekly", token, out, 3));
	CHECK_STR(out[0], "2017-03-23");
	CHECK_STR(out[1], "0221.");
	CHECK_STR(out[2], "17");
	/* only URL-safe characters */
	CHECK(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == strlen(token));

	/* another scope (other filters, other device) */
	CHECK(!cursor_decode(a, "/api/devices/{codename}/releases|cancro?branch=stable", token, out, 3));
	CHECK(!cursor_decode(a, "/api/devices/{codename}/releases|gemini?branch=weekly", token, out, 3));
	/* altered payload or MAC */
	bad = arena_strdup(a, token);
	bad[2] = bad[2] == 'A' ? 'B' : 'A';
	CHECK(!cursor_decode(a, "/api/devices/{codename}/releases|cancro?branch=weekly", bad, out, 3));
	bad = arena_strdup(a, token);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
	CHECK(!cursor_decode(a, "/api/devices/{codename}/releases|cancro?branch=weekly", bad, out, 3));
	/* Any one character replaced by any other of the alphabet, in the payload, the separator or
	 * the MAC, is refused: each of the MAC's 8 bytes takes part in the comparison, and the bits
	 * the last character leaves unused must be zero, so a token has no second spelling. */
	{
		static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
		int accepted = 0;

		for (size_t i = 0; i < strlen(token); i++) {
			for (const char *c = alphabet; *c; c++) {
				if (*c == token[i])
					continue;
				bad = arena_strdup(a, token);
				bad[i] = *c;
				accepted += cursor_decode(a, "/api/devices/{codename}/releases|cancro?branch=weekly",
							  bad, out, 3);
			}
		}
		CHECK_INT(accepted, 0);
	}
	/* malformed */
	CHECK(!cursor_decode(a, "s", "", out, 3));
	CHECK(!cursor_decode(a, "s", "nodot", out, 3));
	CHECK(!cursor_decode(a, "s", "!!!.???", out, 3));
	CHECK(!cursor_decode(a, "s", ".", out, 3));
	/* wrong field count under a valid MAC */
	token = cursor_encode(a, "s", fields, 2);
	CHECK(cursor_decode(a, "s", token, out, 2));
	CHECK(!cursor_decode(a, "s", token, out, 3));
	/* another key */
	cursor_set_secret("another secret of more than sixteen");
	CHECK(!cursor_decode(a, "s", token, out, 2));

	arena_free(a);
	CHECK_DONE();
}
