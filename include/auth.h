/* Bearer tokens on the HTTP side (RFC 6750): who sent a request, whether the token may do it, and the 401/403. */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "db.h"
#include "http.h"

enum auth_result {
	AUTH_OK,
	AUTH_MISSING,            /* no Authorization header */
	AUTH_INVALID,            /* malformed, unknown, expired or revoked: one answer, never which */
	AUTH_INSUFFICIENT_SCOPE, /* a valid token without the scope */
	AUTH_UNAVAILABLE,        /* the database cannot be reached */
	AUTH_ERROR,              /* the database answered an error (not migrated?): logged */
	AUTH__MAX
};

/* Finds the token of credentials "Bearer <b64token>" (the scheme in any case, one or more spaces, then
 * 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" and nothing else). On success *token points into
 * authorization and *len is its length. */
bool auth_parse_bearer(const char *authorization, const char **token, size_t *len);

/* Checks the Authorization header value (NULL when the request has none) for a token that holds scope (NULL:
 * any valid token). A secret of the wrong form is refused without a query; else its BLAKE2b-256 is looked up
 * (DB_STMT_TOKEN_BY_HASH), compared in constant time, and its last use recorded (DB_STMT_TOKEN_USED, at most once
 * a minute per token). On AUTH_OK and AUTH_INSUFFICIENT_SCOPE, the token's name is copied into
 * token_name[0..len) (when not NULL; at most TOKEN_NAME_MAX bytes and a NUL), else it is "". The secret is never
 * copied, logged or stored. */
enum auth_result auth_check(struct db *db, const char *authorization, const char *scope, char *token_name, size_t len);

/* Fills res with the answer to a request refused for result (anything but AUTH_OK, which leaves res alone):
 * 401 unauthorized with WWW-Authenticate: Bearer realm="romtrack" (and error="invalid_token" for AUTH_INVALID);
 * 403 insufficient-scope with WWW-Authenticate: Bearer realm="romtrack", error="insufficient_scope",
 * scope="<scope>"; 503 database-unavailable (app.c adds Retry-After to every 503); 500 internal-error. */
void auth_respond(struct http_response *res, struct arena *a, enum auth_result result, const char *scope);

#endif
