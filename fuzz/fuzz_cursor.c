/* Fuzzes pagination cursors (cursor.c): decode(encode(x)) == x, and altered or foreign tokens are refused. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cursor.h"
#include "http.h"
#include "params.h"

static bool fuzz__ready;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz__ready = true;
	cursor_set_secret("a secret of the fuzz target");
	return 0;
}

/* Whether params.c takes the token as the cursor parameter of a request. */
static bool
fuzz__param_accepts(const char *token)
{
	struct http_request req = {.arena = fuzz_arena(), .method = "GET", .uri = "/", .path = "/", .nquery = 1};
	struct params p;
	struct params_error perr;

	req.query[0].name = "cursor";
	req.query[0].value = token;
	return params_parse(&req, PARAM_BIT(PARAM_CURSOR), 0, &p, &perr);
}

/*
 * The input: a byte for the number of fields (1 to 4), then the scope and the fields
 * separated by 0xff (a byte that is never in UTF-8), then a byte choosing where to alter the token.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *parts[1 + CURSOR_MAX_FIELDS] = {"", "", "", "", ""};
	const char *got[CURSOR_MAX_FIELDS];
	char *text, *token, *p;
	size_t n, nparts = 0, where = 0;
	bool valid = true;

	if (!fuzz__ready)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return 0;
	n = data[0] % CURSOR_MAX_FIELDS + 1;
	text = fuzz_string(data + 1, size - 1);

	/* the whole input as a token a client sends */
	if (cursor_decode(fuzz_arena(), "scope", text, got, n))
		fuzz_fail(__FILE__, __LINE__, "a token the fuzzer made up was accepted");

	for (p = text; nparts < 1 + n; nparts++) {
		char *sep = strchr(p, 0xff); /* the byte 0xff: not '\xff', a negative int where char is signed */

		parts[nparts] = p;
		if (sep == NULL) {
			nparts++;
			break;
		}
		*sep = '\0';
		p = sep + 1;
		if (nparts == n) {
			where = (unsigned char)*p;
			break;
		}
	}
	/* invalid UTF-8 cannot come from PostgreSQL text (nor NUL: the input is cut there) */
	for (size_t i = 0; i < 1 + n; i++)
		valid &= fuzz_utf8_valid((const unsigned char *)parts[i], strlen(parts[i]));
	if (!valid)
		goto out;

	token = cursor_encode(fuzz_arena(), parts[0], parts + 1, n);
	FUZZ_CHECK(token != NULL &&
		   strlen(token) == strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						  "0123456789-_."));
	FUZZ_CHECK(strchr(token, '.') != NULL);
	if (strlen(token) <= 512)
		FUZZ_CHECK(fuzz__param_accepts(token));
	FUZZ_CHECK(cursor_decode(fuzz_arena(), parts[0], token, got, n));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(strcmp(got[i], parts[1 + i]) == 0);
	/* bound to its scope and to its number of fields */
	FUZZ_CHECK(!cursor_decode(fuzz_arena(), arena_printf(fuzz_arena(), "%s/", parts[0]), token, got, n));
	if (n > 1)
		FUZZ_CHECK(!cursor_decode(fuzz_arena(), parts[0], token, got, n - 1));
	/* one character changed: refused */
	{
		char *altered = arena_strdup(fuzz_arena(), token);
		size_t at = where % strlen(altered);

		altered[at] = altered[at] == 'A' ? 'B' : 'A';
		FUZZ_CHECK(!cursor_decode(fuzz_arena(), parts[0], altered, got, n));
		altered[strlen(altered) - 1] = '\0';
		FUZZ_CHECK(!cursor_decode(fuzz_arena(), parts[0], altered, got, n));
	}
out:
	arena_reset(fuzz_arena());
	return 0;
}
