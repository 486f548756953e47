/* API tokens: the secret's format and hash, and the `romtrack token` commands (add, list, revoke). */
#ifndef TOKEN_H
#define TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_PREFIX "rt_"
#define TOKEN_RANDOM_BYTES 32 /* from randombytes_buf */
/* "rt_" and the random bytes in unpadded base64url (43 characters) */
#define TOKEN_SECRET_LEN (sizeof TOKEN_PREFIX - 1 + (TOKEN_RANDOM_BYTES * 4 + 2) / 3)
#define TOKEN_HASH_BYTES 32 /* BLAKE2b-256 (crypto_generichash) of the whole secret text */
#define TOKEN_NAME_MAX 64

/* A new secret, NUL-terminated (needs sodium_init() first). */
void token_secret_new(char secret[TOKEN_SECRET_LEN + 1]);
/* Whether s[0..len) has the form of a secret: "rt_" and 43 base64url characters that decode to 32 bytes (the
 * last one's unused bits zero, so that a secret has one spelling). */
bool token_secret_well_formed(const char *s, size_t len);
/* BLAKE2b-256 of s[0..len): what api_token.secret_hash holds. */
void token_hash(const char *s, size_t len, unsigned char hash[TOKEN_HASH_BYTES]);
/* Whether a token name is 1 to 64 of [A-Za-z0-9._-], starting with a letter or a digit (sql/010's CHECK). */
bool token_name_valid(const char *name);
/* Whether s is a calendar date YYYY-MM-DD (years 1970 to 9999). */
bool token_date_valid(const char *s);

/* `romtrack token add|list|revoke ...` (argv: what follows "token") against the database of conninfo; prints
 * on stdout and stderr; returns the exit status: 0, 1 for a refusal or failure, 2 for a usage error. */
int token_cli(const char *conninfo, int argc, char **argv);
/* The usage lines of `romtrack token`, for `romtrack --help`. */
extern const char token_usage[];

#endif
