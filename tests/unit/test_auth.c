/* Tokens and Bearer authentication (token.c, auth.c): header parsing, the secret's format and hash, the 401/403
 * answers; with a conninfo argument (tests/e2e/test_tokens.py), auth_check over a real, migrated database. */
#include "check.h"

#include <sodium.h>
#include <stdlib.h>
#include <strings.h>

#include "arena.h"
#include "auth.h"
#include "db.h"
#include "http.h"
#include "token.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static bool
parses_as(const char *header, const char *want)
{
	const char *token = NULL;
	size_t len = 0;

	if (!auth_parse_bearer(header, &token, &len))
		return want == NULL;
	return want != NULL && len == strlen(want) && memcmp(token, want, len) == 0;
}

static const char *
header(const struct http_response *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcasecmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

static void
test_parse(void)
{
	CHECK(parses_as("Bearer abc", "abc"));
	CHECK(parses_as("bearer abc", "abc")); /* the scheme in any case (RFC 9110, 11.1) */
	CHECK(parses_as("BeArEr abc", "abc"));
	CHECK(parses_as("Bearer    abc", "abc")); /* 1*SP */
	CHECK(parses_as("Bearer a-._~+/Z09", "a-._~+/Z09"));
	CHECK(parses_as("Bearer abc==", "abc=="));
	CHECK(parses_as("Bearer rt_abc", "rt_abc"));
	CHECK(parses_as("Bearer abc=d", NULL)); /* '=' only at the end */
	CHECK(parses_as("Bearer =", NULL));
	CHECK(parses_as("Bearer", NULL));
	CHECK(parses_as("Bearer ", NULL));
	CHECK(parses_as("Bearer  ", NULL));
	CHECK(parses_as("Bearerabc", NULL));
	CHECK(parses_as("Bearer\tabc", NULL));
	CHECK(parses_as(" Bearer abc", NULL));
	CHECK(parses_as("Bearer abc ", NULL));
	CHECK(parses_as("Bearer abc def", NULL));
	CHECK(parses_as("Bearer ab,c", NULL));
	CHECK(parses_as("Bearer ab\"c", NULL));
	CHECK(parses_as("Basic YWxhZGRpbjpvcGVuc2VzYW1l", NULL));
	CHECK(parses_as("Bearer2 abc", NULL));
	CHECK(parses_as("", NULL));
	CHECK(parses_as(NULL, NULL));
}

static void
test_secret(void)
{
	char a[TOKEN_SECRET_LEN + 1], b[TOKEN_SECRET_LEN + 1], bad[TOKEN_SECRET_LEN + 2];
	unsigned char raw[64], hash[TOKEN_HASH_BYTES];
	size_t rawlen = 0;
	char hex[TOKEN_HASH_BYTES * 2 + 1];

	token_secret_new(a);
	token_secret_new(b);
	/* rt_ + unpadded base64url of 32 bytes: ceil(32 * 8 / 6) = 43 characters */
	CHECK_INT(strlen(a), 46);
	CHECK(strncmp(a, "rt_", 3) == 0);
	CHECK_INT(strspn(a + 3, B64URL), 43);
	CHECK(sodium_base642bin(raw, sizeof raw, a + 3, 43, NULL, &rawlen, NULL,
				sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
	CHECK_INT(rawlen, 32);
	CHECK(strcmp(a, b) != 0);
	CHECK(token_secret_well_formed(a, strlen(a)));
	CHECK(token_secret_well_formed(b, strlen(b)));

	/* 43 characters carry 258 bits: the last one's 2 low bits are unused and must be zero */
	CHECK(token_secret_well_formed("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 46));
	CHECK(token_secret_well_formed("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE", 46));
	CHECK(!token_secret_well_formed("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", 46));
	CHECK(!token_secret_well_formed("RT_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 46));
	CHECK(!token_secret_well_formed("rt-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 46));
	CHECK(!token_secret_well_formed("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 45));
	CHECK(!token_secret_well_formed("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 47));
	CHECK(!token_secret_well_formed("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 46));
	CHECK(!token_secret_well_formed("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
					46)); /* base64, not base64url */
	CHECK(!token_secret_well_formed("rt_AAAAAAAAAAAAAAAAAAAAA/AAAAAAAAAAAAAAAAAAAAA", 46));
	CHECK(!token_secret_well_formed("", 0));
	/* a NUL inside */
	memcpy(bad, a, sizeof a);
	bad[20] = '\0';
	CHECK(!token_secret_well_formed(bad, 46));

	/* BLAKE2b-256 (RFC 7693 with a 32-byte output; the values of Python's hashlib.blake2b(digest_size=32)) */
	token_hash("", 0, hash);
	sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
	CHECK_STR(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	token_hash("abc", 3, hash);
	sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
	CHECK_STR(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
	token_hash("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 46, hash);
	sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
	CHECK_STR(hex, "96b7860281c09f1adcaefee30236f8505cc5cb6af6daed24bcfacac2f1c42e4e");
}

static void
test_names_dates(void)
{
	CHECK(token_name_valid("xfu-tracker"));
	CHECK(token_name_valid("a"));
	CHECK(token_name_valid("Bot_2.0"));
	CHECK(token_name_valid("0123456789012345678901234567890123456789012345678901234567890123")); /* 64 */
	CHECK(!token_name_valid("01234567890123456789012345678901234567890123456789012345678901234"));
	CHECK(!token_name_valid(""));
	CHECK(!token_name_valid("-x"));
	CHECK(!token_name_valid(".x"));
	CHECK(!token_name_valid("_x"));
	CHECK(!token_name_valid("a b"));
	CHECK(!token_name_valid("a:b"));
	CHECK(!token_name_valid("tøken"));

	CHECK(token_date_valid("2030-01-31"));
	CHECK(token_date_valid("2028-02-29"));
	CHECK(token_date_valid("2000-02-29"));
	CHECK(!token_date_valid("2100-02-29"));
	CHECK(!token_date_valid("2027-02-29"));
	CHECK(!token_date_valid("2030-04-31"));
	CHECK(!token_date_valid("2030-13-01"));
	CHECK(!token_date_valid("2030-00-01"));
	CHECK(!token_date_valid("2030-01-00"));
	CHECK(!token_date_valid("2030-1-01"));
	CHECK(!token_date_valid("2030-01-01T00:00"));
	CHECK(!token_date_valid("30-01-2030"));
	CHECK(!token_date_valid("2030/01/01"));
	CHECK(!token_date_valid("+030-01-01"));
	CHECK(!token_date_valid("tomorrow"));
	CHECK(!token_date_valid(""));
}

static void
test_respond(void)
{
	static const struct {
		enum auth_result result;
		int status;
		const char *type, *www_authenticate;
	} cases[] = {
		{AUTH_MISSING, 401, "urn:romtrack:problem:unauthorized", "Bearer realm=\"romtrack\""},
		{AUTH_INVALID, 401, "urn:romtrack:problem:unauthorized",
		 "Bearer realm=\"romtrack\", error=\"invalid_token\""},
		{AUTH_INSUFFICIENT_SCOPE, 403, "urn:romtrack:problem:insufficient-scope",
		 "Bearer realm=\"romtrack\", error=\"insufficient_scope\", scope=\"releases:write\""},
		{AUTH_UNAVAILABLE, 503, "urn:romtrack:problem:database-unavailable", NULL},
		{AUTH_ERROR, 500, "urn:romtrack:problem:internal-error", NULL},
	};
	struct arena *a = arena_new();

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct http_response res = {0};

		auth_respond(&res, a, cases[i].result, "releases:write");
		CHECK_INT(res.status, cases[i].status);
		CHECK_STR(res.content_type, "application/problem+json");
		CHECK(res.body != NULL && strstr(res.body, cases[i].type) != NULL);
		CHECK_STR(header(&res, "WWW-Authenticate"), cases[i].www_authenticate);
	}
	{
		struct http_response res = {0};

		auth_respond(&res, a, AUTH_OK, "releases:write");
		CHECK_INT(res.status, 0);
		CHECK_INT(res.nheaders, 0);
	}
	arena_free(a);
}

/* auth_check's answers that need no database: it is never asked */
static void
test_check_offline(void)
{
	char secret[TOKEN_SECRET_LEN + 1], hdr[128], name[TOKEN_NAME_MAX + 1] = "stale";
	struct db *db;

	CHECK_INT(auth_check(NULL, NULL, "releases:write", name, sizeof name), AUTH_MISSING);
	CHECK_STR(name, "");
	CHECK_INT(auth_check(NULL, "", "releases:write", name, sizeof name), AUTH_INVALID);
	CHECK_INT(auth_check(NULL, "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "releases:write", name, sizeof name),
		  AUTH_INVALID);
	CHECK_INT(auth_check(NULL, "Bearer abc", "releases:write", name, sizeof name), AUTH_INVALID);
	CHECK_INT(auth_check(NULL, "Bearer rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", NULL, name, sizeof name),
		  AUTH_INVALID);

	/* a well-formed secret and no database: unavailable, not invalid */
	token_secret_new(secret);
	snprintf(hdr, sizeof hdr, "Bearer %s", secret);
	db = db_open("host=/nonexistent/romtrack-test-auth port=1 connect_timeout=1", true);
	CHECK_INT(auth_check(db, hdr, "releases:write", name, sizeof name), AUTH_UNAVAILABLE);
	CHECK_STR(name, "");
	db_close(db);
}

/* One row of api_token made here (with the hash of a secret made here), and its secret. */
static void
insert_token(struct db *db, const char *name, const char *scopes, const char *extra_sql, char *secret)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	char hex[TOKEN_HASH_BYTES * 2 + 1], err[1024], sql[512];
	const char *p[] = {name, hex, scopes};

	token_secret_new(secret);
	token_hash(secret, strlen(secret), hash);
	sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
	snprintf(sql, sizeof sql,
		 "INSERT INTO api_token (name, secret_hash, scopes) VALUES ($1, decode($2, 'hex'), "
		 "string_to_array($3, ','))");
	CHECK(db_run(db_conn(db), sql, p, 3, NULL, "insert", err, sizeof err));
	if (extra_sql != NULL) {
		const char *q[] = {name};

		CHECK(db_run(db_conn(db), extra_sql, q, 1, NULL, "update", err, sizeof err));
	}
}

static const char *
query1(struct db *db, struct arena *a, const char *sql, const char *arg)
{
	const char *p[] = {arg};
	char err[1024];
	PGresult *res = NULL;
	const char *out = NULL;

	if (db_run(db_conn(db), sql, p, 1, &res, "query", err, sizeof err) && PQntuples(res) == 1)
		out = PQgetisnull(res, 0, 0) ? NULL : arena_strdup(a, PQgetvalue(res, 0, 0));
	else
		fprintf(stderr, "%s\n", err);
	PQclear(res);
	return out;
}

static enum auth_result
check_secret(struct db *db, const char *secret, const char *scope, char *name, size_t len)
{
	char hdr[128];

	snprintf(hdr, sizeof hdr, "Bearer %s", secret);
	return auth_check(db, hdr, scope, name, len);
}

/* Over a migrated database (the e2e stack's): every answer, and the last use. Rows named unit-* are made here. */
static void
test_check_db(const char *conninfo)
{
	char ok[TOKEN_SECRET_LEN + 1], revoked[TOKEN_SECRET_LEN + 1], expired[TOKEN_SECRET_LEN + 1],
		future[TOKEN_SECRET_LEN + 1], unknown[TOKEN_SECRET_LEN + 1], admin[TOKEN_SECRET_LEN + 1],
		name[TOKEN_NAME_MAX + 1], hdr[128];
	struct db *db = db_open(conninfo, true);
	struct arena *a = arena_new();
	const char *used, *used_again, *last_used_sql = "SELECT last_used_at::text FROM api_token WHERE name = $1";
	char err[1024];

	CHECK(db_ensure(db));
	CHECK(db_run(db_conn(db), "DELETE FROM api_token WHERE name LIKE 'unit-%'", NULL, 0, NULL, "clean", err,
		     sizeof err));
	insert_token(db, "unit-ok", "releases:write,devices:write", NULL, ok);
	insert_token(db, "unit-revoked", "releases:write", "UPDATE api_token SET revoked_at = now() WHERE name = $1",
		     revoked);
	insert_token(db, "unit-expired", "releases:write",
		     "UPDATE api_token SET created_at = now() - interval '2 days', expires_at = now() - interval '1 "
		     "second' WHERE name = $1",
		     expired);
	insert_token(db, "unit-future", "audit:read",
		     "UPDATE api_token SET expires_at = now() + interval '1 day' WHERE name = $1", future);
	insert_token(db, "unit-admin", "admin", NULL, admin);
	token_secret_new(unknown);

	CHECK(query1(db, a, last_used_sql, "unit-ok") == NULL);
	CHECK_INT(check_secret(db, ok, "releases:write", name, sizeof name), AUTH_OK);
	CHECK_STR(name, "unit-ok");
	used = query1(db, a, last_used_sql, "unit-ok");
	CHECK(used != NULL);
	CHECK_INT(check_secret(db, ok, "devices:write", name, sizeof name), AUTH_OK);
	CHECK_INT(check_secret(db, ok, NULL, name, sizeof name), AUTH_OK);
	/* within the minute, the last use stays as it was */
	used_again = query1(db, a, last_used_sql, "unit-ok");
	CHECK(used != NULL && used_again != NULL && strcmp(used, used_again) == 0);
	/* a minute later it moves on */
	CHECK(db_run(db_conn(db),
		     "UPDATE api_token SET last_used_at = now() - interval '61 seconds' WHERE name = 'unit-ok'", NULL,
		     0, NULL, "age", err, sizeof err));
	CHECK_INT(check_secret(db, ok, "releases:write", name, sizeof name), AUTH_OK);
	CHECK_STR(query1(db, a,
			 "SELECT (last_used_at > now() - interval '5 seconds')::text FROM api_token WHERE name = $1",
			 "unit-ok"),
		  "true");

	CHECK_INT(check_secret(db, ok, "audit:read", name, sizeof name), AUTH_INSUFFICIENT_SCOPE);
	CHECK_STR(name, "unit-ok");
	CHECK_INT(check_secret(db, future, "audit:read", name, sizeof name), AUTH_OK);
	CHECK_STR(name, "unit-future");
	/* admin holds every scope (sql/015) */
	CHECK_INT(check_secret(db, admin, "audit:read", name, sizeof name), AUTH_OK);
	CHECK_INT(check_secret(db, admin, "releases:write", name, sizeof name), AUTH_OK);
	CHECK_INT(check_secret(db, admin, "subscriptions:write", name, sizeof name), AUTH_OK);
	CHECK_STR(name, "unit-admin");

	CHECK_INT(check_secret(db, revoked, "releases:write", name, sizeof name), AUTH_INVALID);
	CHECK_STR(name, "");
	CHECK_INT(check_secret(db, expired, "releases:write", name, sizeof name), AUTH_INVALID);
	CHECK_INT(check_secret(db, unknown, "releases:write", name, sizeof name), AUTH_INVALID);
	CHECK_INT(check_secret(db, ok, "releases:write", NULL, 0), AUTH_OK);
	/* the scheme in another case, more spaces */
	snprintf(hdr, sizeof hdr, "bearer   %s", ok);
	CHECK_INT(auth_check(db, hdr, "releases:write", name, sizeof name), AUTH_OK);
	/* a secret one character off */
	snprintf(hdr, sizeof hdr, "Bearer %s", ok);
	hdr[10] = hdr[10] == 'A' ? 'B' : 'A';
	CHECK_INT(auth_check(db, hdr, "releases:write", name, sizeof name), AUTH_INVALID);
	/* a revoked token's last use is never recorded */
	CHECK(query1(db, a, last_used_sql, "unit-revoked") == NULL);

	CHECK(db_run(db_conn(db), "DELETE FROM api_token WHERE name LIKE 'unit-%'", NULL, 0, NULL, "clean", err,
		     sizeof err));
	arena_free(a);
	db_close(db);
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	test_parse();
	test_secret();
	test_names_dates();
	test_respond();
	test_check_offline();
	if (argc > 1)
		test_check_db(argv[1]);
	CHECK_DONE();
}
