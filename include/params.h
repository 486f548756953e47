/* Query parameters: one table of names and validators, checked before any handler runs. */
#ifndef PARAMS_H
#define PARAMS_H

#include <stdbool.h>

#include "arena.h"
#include "http.h"
#include "rt_error.h"

enum param_id {
	PARAM_Q,
	PARAM_CODENAME,
	PARAM_REGION,
	PARAM_BRANCH,
	PARAM_TYPE,
	PARAM_VERSION,
	PARAM_ANDROID,
	PARAM_FAMILY,
	PARAM_SINCE,
	PARAM_UNTIL,
	PARAM_CURRENT,
	PARAM_VARIANT,
	PARAM_LIMIT,
	PARAM_CURSOR,
	PARAM_AFTER, /* the change feed's position: a sequence number */
	PARAM_ACTOR, /* the audit's filters */
	PARAM_RELEASE,
	PARAM__MAX
};

#define PARAM_BIT(id) (1u << (id))
#define PARAM_LIMIT_DEFAULT 50
#define PARAM_LIMIT_MAX 500

struct params {
	const char *value[PARAM__MAX]; /* validated text, NULL when absent */
	long limit;                    /* PARAM_LIMIT or its default */
};

struct params_error {
	enum rt_err err;
	const char *detail;    /* arena string */
	const char *parameter; /* name of the offending parameter */
};

/* What a value must be, completing "<name> must be ...": shared by the query parameters and the
 * path captures of the same name (router.c). */
#define PARAMS_EXPECT_CODENAME "a codename of 1 to 64 letters, digits or '_'"
#define PARAMS_EXPECT_BRANCH "one of stable, stable-beta, weekly, public-beta"
#define PARAMS_EXPECT_VERSION "a version of 1 to 64 letters, digits, '.', '_' or '-'"

const char *param_name(enum param_id id);

/* Validates every query parameter of req against the allowed set (PARAM_BIT mask).
 * Unknown, repeated, invalid or missing required parameters fail with a 400 error in *perr. */
bool params_parse(const struct http_request *req, unsigned allowed, unsigned required, struct params *out,
		  struct params_error *perr);
/* A client's value as an error message may quote it: at most 40 bytes, cut on a UTF-8 boundary. */
const char *params_echo(struct arena *a, const char *value);

/* False when a parameter whose value space a client controls without bound (q, version) was
 * given: the response cache must not keep the answer. */
bool params_cacheable(const struct params *p);

/* The filters (all parameters but limit, cursor and after: positions, not filters) as an encoded query string
 * in table order, e.g. "region=global&branch=stable"; "" when none. */
const char *params_filter_query(const struct params *p, struct arena *a);

/* The codename list parameter ("a,b,c") as a PostgreSQL array literal ("{a,b,c}"), or
 * NULL when absent; the validator has checked every element is a codename. */
const char *params_codename_array(const struct params *p, struct arena *a);
/* True for a version: 1 to 64 of [A-Za-z0-9._-]. */
bool params_version_valid(const char *s);
/* True for a codename path segment: [A-Za-z0-9_]{1,64}. */
bool params_codename_valid(const char *s);
/* True for a real calendar date written YYYY-MM-DD. */
bool params_date_valid(const char *s);

#endif
