/* Bearer tokens on the HTTP side (RFC 6750): parses the header, looks the secret's hash up, answers 401/403. */
#include "auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "token.h"

bool
auth_parse_bearer(const char *authorization, const char **token, size_t *len)
{
	static const char b64token[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
	const char *p = authorization, *start;

	if (p == NULL || strncasecmp(p, "Bearer", 6) != 0 || p[6] != ' ')
		return false;
	p += 6;
	p += strspn(p, " ");
	start = p;
	p += strspn(p, b64token);
	if (p == start)
		return false;
	p += strspn(p, "=");
	if (*p != '\0')
		return false;
	*token = start;
	*len = (size_t)(p - start);
	return true;
}

/* The columns of DB_STMT_TOKEN_BY_HASH, in the order of its select list (src/queries.c). */
enum { AUTH__COL_ID, AUTH__COL_NAME, AUTH__COL_HASH, AUTH__COL_ALLOWED, AUTH__COL_STALE };

enum auth_result
auth_check(struct db *db, const char *authorization, const char *scope, char *token_name, size_t len)
{
	unsigned char hash[TOKEN_HASH_BYTES], stored[TOKEN_HASH_BYTES];
	char hex[TOKEN_HASH_BYTES * 2 + 1];
	const char *secret;
	size_t secret_len, stored_len = 0;
	enum auth_result result;
	enum rt_err err;
	PGresult *res;

	if (token_name != NULL && len > 0)
		token_name[0] = '\0';
	if (authorization == NULL)
		return AUTH_MISSING;
	/* a malformed header, or a secret of another form, is refused without a query */
	if (!auth_parse_bearer(authorization, &secret, &secret_len) || !token_secret_well_formed(secret, secret_len))
		return AUTH_INVALID;
	token_hash(secret, secret_len, hash);
	sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
	/* The index finds the row by hash: its timing can tell a client at most how much of a hash it guessed,
	 * which says nothing of a secret (BLAKE2b has no known preimage attack). */
	err = db_exec(db, DB_STMT_TOKEN_BY_HASH, &(struct db_args){.secret_hash = hex, .scope = scope}, &res);
	if (err != RT_OK)
		return err == RT_ERR_DB_UNAVAILABLE ? AUTH_UNAVAILABLE : AUTH_ERROR;
	/* the database's answer is trusted only once its hash is the one computed here, compared in constant time */
	if (PQntuples(res) != 1 ||
	    sodium_hex2bin(stored, sizeof stored, PQgetvalue(res, 0, AUTH__COL_HASH),
			   (size_t)PQgetlength(res, 0, AUTH__COL_HASH), NULL, &stored_len, NULL) != 0 ||
	    stored_len != sizeof stored || sodium_memcmp(stored, hash, sizeof hash) != 0) {
		PQclear(res);
		return AUTH_INVALID;
	}
	result = strcmp(PQgetvalue(res, 0, AUTH__COL_ALLOWED), "t") == 0 ? AUTH_OK : AUTH_INSUFFICIENT_SCOPE;
	if (token_name != NULL && len > 0)
		snprintf(token_name, len, "%s", PQgetvalue(res, 0, AUTH__COL_NAME));
	if (strcmp(PQgetvalue(res, 0, AUTH__COL_STALE), "t") == 0) {
		PGresult *used = NULL;

		/* a failure here refuses nothing: the token is valid, and the next request tries again */
		if (db_exec(db, DB_STMT_TOKEN_USED, &(struct db_args){.id = PQgetvalue(res, 0, AUTH__COL_ID)}, &used) !=
		    RT_OK)
			log_warn("token %s: its last use was not recorded: %s", PQgetvalue(res, 0, AUTH__COL_NAME),
				 db_error(db));
		PQclear(used);
	}
	PQclear(res);
	return result;
}

void
auth_respond(struct http_response *res, struct arena *a, enum auth_result result, const char *scope)
{
	switch (result) {
	case AUTH_OK:
	case AUTH__MAX: return;
	case AUTH_MISSING:
		http_problem(res, a, RT_ERR_UNAUTHORIZED,
			     "this request needs a token: send \"Authorization: Bearer <secret>\"", NULL);
		http_add_header(res, "WWW-Authenticate", "Bearer realm=\"romtrack\"");
		return;
	case AUTH_INVALID:
		/* one answer for a malformed header and an unknown, expired or revoked token */
		http_problem(res, a, RT_ERR_UNAUTHORIZED,
			     "the token is not valid (malformed, unknown, expired or revoked)", NULL);
		http_add_header(res, "WWW-Authenticate", "Bearer realm=\"romtrack\", error=\"invalid_token\"");
		return;
	case AUTH_INSUFFICIENT_SCOPE:
		http_problem(res, a, RT_ERR_INSUFFICIENT_SCOPE,
			     arena_printf(a, "this request needs a token with the scope %s", scope ? scope : "(none)"),
			     NULL);
		http_add_header(res, "WWW-Authenticate",
				arena_printf(a, "Bearer realm=\"romtrack\", error=\"insufficient_scope\", scope=\"%s\"",
					     scope ? scope : ""));
		return;
	case AUTH_UNAVAILABLE:
		http_problem(res, a, RT_ERR_DB_UNAVAILABLE, "the database is not reachable, try again later", NULL);
		return;
	case AUTH_ERROR: http_problem(res, a, RT_ERR_INTERNAL, NULL, NULL); return;
	}
}
