/* Cursors: round trip, binding to their scope, tamper detection; SipHash test vector. */
#include "check.h"

#include "arena.h"
#include "cursor.h"
#include "siphash.h"

int
main(void)
{
	struct arena *a = arena_new();
	const char *fields[3] = {"2017-03-23", "0221.", "17"}, *out[3] = {NULL, NULL, NULL};
	unsigned char key[16], msg[15];
	char *token, *bad;

	/* SipHash-2-4 reference vector: key 00..0f, message 00..0e -> a129ca6149be45e5 */
	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (unsigned char)i;
	CHECK(siphash24(key, msg, sizeof msg) == 0xa129ca6149be45e5ULL);

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
