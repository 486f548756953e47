/* Validators for query parameters, by table: each name has one validator and one message. */
#include "params.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "version.h"

typedef bool (*param__check_fn)(const char *value);

static bool
param__chars(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr(extra, *s) != NULL))
			return false;
	return true;
}

bool
params_codename_valid(const char *s)
{
	return param__chars(s, 1, 64, "_");
}

bool
params_date_valid(const char *s)
{
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

static bool
param__q(const char *s)
{
	/* 1..100 characters of valid UTF-8 (the decoder checked UTF-8 already). */
	size_t chars = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			chars++;
	return chars >= 1 && chars <= 100;
}

static bool
param__region(const char *s)
{
	return dom_region_parse(s) != DOM_REGION__MAX;
}

/* One to 50 codenames separated by commas. */
static bool
param__codenames(const char *s)
{
	int n = 0;

	for (const char *p = s;; p++) {
		size_t len = strcspn(p, ",");
		char one[65];

		if (len == 0 || len > 64 || ++n > 50)
			return false;
		memcpy(one, p, len);
		one[len] = '\0';
		if (!params_codename_valid(one))
			return false;
		p += len;
		if (*p == '\0')
			return true;
	}
}

static bool
param__family(const char *s)
{
	static const char *const families[] = {"miui", "hyperos", "weekly", "public-beta", "other"};

	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
		if (strcmp(s, families[i]) == 0)
			return true;
	return false;
}
static bool
param__branch(const char *s)
{
	return dom_branch_parse(s) != DOM_BRANCH__MAX;
}
static bool
param__type(const char *s)
{
	return dom_type_parse(s) != DOM_TYPE__MAX;
}
bool
params_version_valid(const char *s)
{
	return param__chars(s, 1, 64, "._-");
}
static bool
param__cursor(const char *s)
{
	return param__chars(s, 1, 512, "-_.");
}

/* A version the updates route can compare: one of the grammars version.c knows. */
static bool
param__current(const char *s)
{
	struct ver v;

	if (!params_version_valid(s))
		return false;
	ver_parse(s, &v);
	return v.family != VER_OTHER;
}

static bool
param__android(const char *s)
{
	/* ^[0-9]{1,2}(\.[0-9]{1,2})?$ */
	const char *dot = strchr(s, '.');
	size_t major = dot ? (size_t)(dot - s) : strlen(s);

	if (!param__chars(s, 1, 5, "."))
		return false;
	if (major < 1 || major > 2 || strspn(s, "0123456789") != major)
		return false;
	if (dot == NULL)
		return true;
	return strlen(dot + 1) >= 1 && strlen(dot + 1) <= 2 && strspn(dot + 1, "0123456789") == strlen(dot + 1);
}

static bool
param__limit(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && n >= 1 && n <= PARAM_LIMIT_MAX;
}

/* 0, or a positive integer of at most 18 digits (no sign, no leading zero). */
static bool
param__sequence(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 18 && strspn(s, "0123456789") == n && (s[0] != '0' || n == 1);
}

static bool
param__release(const char *s)
{
	return s[0] != '0' && param__sequence(s);
}

/* Who made a change, as the change log names it ("token:NAME", "cli:USER", "sql:USER"): printable
 * ASCII without spaces or controls, or any UTF-8 beyond ASCII. */
static bool
param__actor(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 200)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static const struct {
	const char *name;
	param__check_fn check;
	const char *expected; /* completes "<name> must be ..." */
} param__table[PARAM__MAX] = {
	[PARAM_Q] = {"q", param__q, "1 to 100 characters"},
	[PARAM_CODENAME] = {"codename", param__codenames, "1 to 50 codenames separated by commas"},
	[PARAM_REGION] = {"region", param__region, "one of cn, global, eea, in, id, ru, tr, tw, jp, kr, sg, other"},
	[PARAM_BRANCH] = {"branch", param__branch, PARAMS_EXPECT_BRANCH},
	[PARAM_TYPE] = {"type", param__type, "one of recovery, fastboot"},
	[PARAM_VERSION] = {"version", params_version_valid, PARAMS_EXPECT_VERSION},
	[PARAM_ANDROID] = {"android", param__android, "an Android version such as 11 or 8.1"},
	[PARAM_FAMILY] = {"family", param__family, "one of miui, hyperos, weekly, public-beta, other"},
	[PARAM_CURRENT] = {"current", param__current, "a MIUI, HyperOS, weekly or public beta version"},
	[PARAM_VARIANT] = {"variant", params_codename_valid, "a variant codename such as alioth_global"},
	[PARAM_SINCE] = {"since", params_date_valid, "a date written YYYY-MM-DD"},
	[PARAM_UNTIL] = {"until", params_date_valid, "a date written YYYY-MM-DD"},
	[PARAM_LIMIT] = {"limit", param__limit, "an integer from 1 to 500"},
	[PARAM_CURSOR] = {"cursor", param__cursor, "a cursor taken from a next link"},
	[PARAM_AFTER] = {"after", param__sequence, "a sequence number (0 or a positive integer of at most 18 digits)"},
	[PARAM_ACTOR] = {"actor", param__actor, "an actor of 1 to 200 printable characters, such as token:tracker"},
	[PARAM_RELEASE] = {"release", param__release, "a release id (a positive integer)"},
};

/* Parameters whose values a client chooses without bound and rarely repeats: free text (q)
 * and the version filter (any 1 to 64 characters, most of them matching nothing). The
 * response cache keeps no answer to a request that has one, so such requests cannot push
 * hot answers out of it (params_cacheable). */
static const bool param__unbounded[PARAM__MAX] = {[PARAM_Q] = true, [PARAM_VERSION] = true};

bool
params_cacheable(const struct params *p)
{
	for (int id = 0; id < PARAM__MAX; id++)
		if (param__unbounded[id] && p->value[id] != NULL)
			return false;
	return true;
}

const char *
param_name(enum param_id id)
{
	return id < PARAM__MAX ? param__table[id].name : "";
}

const char *
params_echo(struct arena *a, const char *value)
{
	size_t n = strlen(value);

	if (n <= 40)
		return value;
	n = 40;
	while (n > 0 && ((unsigned char)value[n] & 0xc0) == 0x80)
		n--;
	return arena_printf(a, "%.*s...", (int)n, value);
}

static bool
param__fail(struct params_error *perr, struct arena *a, enum rt_err err, const char *parameter, const char *detail)
{
	perr->err = err;
	perr->parameter = parameter ? arena_strdup(a, parameter) : NULL;
	perr->detail = detail;
	return false;
}

bool
params_parse(const struct http_request *req, unsigned allowed, unsigned required, struct params *out,
	     struct params_error *perr)
{
	struct arena *a = req->arena;

	memset(out, 0, sizeof *out);
	out->limit = PARAM_LIMIT_DEFAULT;
	for (size_t i = 0; i < req->nquery; i++) {
		const struct http_query_param *qp = &req->query[i];
		int id;

		for (id = 0; id < PARAM__MAX; id++)
			if (strcmp(qp->name, param__table[id].name) == 0)
				break;
		if (id == PARAM__MAX || !(allowed & PARAM_BIT(id)))
			return param__fail(perr, a, RT_ERR_UNKNOWN_PARAMETER, qp->name,
					   arena_printf(a, "unknown query parameter \"%s\"", params_echo(a, qp->name)));
		if (out->value[id] != NULL)
			return param__fail(perr, a, RT_ERR_INVALID_PARAMETER, qp->name,
					   arena_printf(a, "%s is given more than once", qp->name));
		if (!param__table[id].check(qp->value))
			return param__fail(perr, a,
					   id == PARAM_CURSOR ? RT_ERR_INVALID_CURSOR : RT_ERR_INVALID_PARAMETER,
					   qp->name,
					   arena_printf(a, "%s must be %s, not \"%s\"", qp->name,
							param__table[id].expected, params_echo(a, qp->value)));
		out->value[id] = qp->value;
	}
	for (int id = 0; id < PARAM__MAX; id++)
		if ((required & PARAM_BIT(id)) && out->value[id] == NULL)
			return param__fail(perr, a, RT_ERR_INVALID_PARAMETER, param__table[id].name,
					   arena_printf(a, "%s is required", param__table[id].name));
	if (out->value[PARAM_LIMIT] != NULL)
		out->limit = strtol(out->value[PARAM_LIMIT], NULL, 10);
	/* ISO dates of equal length compare like strings. */
	if (out->value[PARAM_SINCE] != NULL && out->value[PARAM_UNTIL] != NULL &&
	    strcmp(out->value[PARAM_SINCE], out->value[PARAM_UNTIL]) > 0)
		return param__fail(perr, a, RT_ERR_INVALID_PARAMETER, "since", "since must not be later than until");
	return true;
}

const char *
params_filter_query(const struct params *p, struct arena *a)
{
	const char *out = "";

	for (int id = 0; id < PARAM__MAX; id++) {
		if (id == PARAM_LIMIT || id == PARAM_CURSOR || id == PARAM_AFTER || p->value[id] == NULL)
			continue;
		out = arena_printf(a, "%s%s%s=%s", out, out[0] ? "&" : "", param__table[id].name,
				   http_encode(a, p->value[id]));
	}
	return out;
}

const char *
params_codename_array(const struct params *p, struct arena *a)
{
	return p->value[PARAM_CODENAME] ? arena_printf(a, "{%s}", p->value[PARAM_CODENAME]) : NULL;
}
