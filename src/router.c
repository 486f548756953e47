/* Routing by a static table of path templates; "{name}" matches one non-empty segment, which the
 * capture table validates before any handler runs. */
#include "router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http_semantics.h"

#define ROUTE__READ (ROUTE_GET | ROUTE_HEAD | ROUTE_OPTIONS)

/* What each kind of route can send (http_negotiate). The feeds are Atom, a correct body
 * for a client that asks for XML too; a client that asks for another feed format (RSS)
 * gets Atom, which feed readers read. The contract is YAML under each of its names. */
static const struct http_media route__json = {(const char *const[]){"application/json", NULL}, NULL};
static const struct http_media route__atom = {
	(const char *const[]){"application/atom+xml", "application/xml", "text/xml", NULL},
	(const char *const[]){"application/rss+xml", "application/rdf+xml", "application/x-atom+xml",
			      "application/x-rss+xml", NULL},
};
static const struct http_media route__yaml = {(const char *const[]){"application/yaml", "application/x-yaml",
								    "text/yaml", "text/x-yaml", NULL},
					      NULL};
/* XFU's feeds are RSS 2.0, also a correct body for a client that asks for XML */
static const struct http_media route__rss = {(const char *const[]){"application/rss+xml", "application/xml", "text/xml",
								   NULL},
					     NULL};
/* What request bodies can be (route.accepts). */
static const char *const route__json_body[] = {"application/json", NULL};
static const char *const route__merge_patch_body[] = {"application/merge-patch+json", NULL};
/* what romtrack import reads: an XFU download page, an XFU YAML export, releases as JSON */
static const char *const route__import_body[] = {"text/markdown", "text/html", "application/yaml", "application/json",
						 NULL};
/* Prometheus' text exposition format 0.0.4 (the handler labels it with its version) */
static const struct http_media route__metrics = {(const char *const[]){"text/plain", NULL}, NULL};
#define JSON_BODY route__json_body
#define JSON (&route__json)
#define ATOM (&route__atom)
#define YAML (&route__yaml)

#define LIST (PARAM_BIT(PARAM_LIMIT) | PARAM_BIT(PARAM_CURSOR))
#define VARIANT (PARAM_BIT(PARAM_REGION) | PARAM_BIT(PARAM_BRANCH) | PARAM_BIT(PARAM_TYPE))
#define FILTERS                                                                                   \
	(VARIANT | PARAM_BIT(PARAM_VERSION) | PARAM_BIT(PARAM_ANDROID) | PARAM_BIT(PARAM_SINCE) | \
	 PARAM_BIT(PARAM_UNTIL))
#define ALL_RELEASES                                                                                \
	(VARIANT | PARAM_BIT(PARAM_CODENAME) | PARAM_BIT(PARAM_ANDROID) | PARAM_BIT(PARAM_FAMILY) | \
	 PARAM_BIT(PARAM_SINCE) | PARAM_BIT(PARAM_UNTIL))

/* Every route, tried in order (a literal segment before a capture that would take it: "latest"
 * is not an id). Max ages are at most a minute for all data, single releases included: they are
 * corrected after publication, and a shared cache must see a correction as soon as the lists do. */
static const struct route route__table[] = {
	{.pattern = "/api/health", .handler = h_health, .methods = ROUTE__READ, .media = JSON, .flags = ROUTE_LIVE},
	{.pattern = "/api/devices",
	 .handler = h_device_list,
	 .methods = ROUTE__READ,
	 .params = LIST | PARAM_BIT(PARAM_Q),
	 .media = JSON,
	 .max_age = 60,
	 .keyset = 1},
	{.pattern = "/api/devices/{codename}",
	 .handler = h_device_get,
	 .methods = ROUTE__READ,
	 .media = JSON,
	 .max_age = 60},
	{.pattern = "/api/devices/{codename}/variants/{variant}",
	 .handler = h_variant_put,
	 .methods = ROUTE_PUT | ROUTE_OPTIONS, /* the pattern's only row: its preflight */
	 .media = JSON,
	 .accepts = JSON_BODY,
	 .scope = "devices:write"},
	{.pattern = "/api/devices/{codename}/releases",
	 .handler = h_device_releases,
	 .methods = ROUTE__READ,
	 .params = LIST | FILTERS,
	 .media = JSON,
	 .max_age = 60,
	 .keyset = 3},
	{.pattern = "/api/devices/{codename}/releases/{branch}/{version}",
	 .handler = h_device_version,
	 .methods = ROUTE__READ,
	 .media = JSON,
	 .max_age = 60},
	{.pattern = "/api/devices/{codename}/latest",
	 .handler = h_device_latest,
	 .methods = ROUTE__READ,
	 .params = VARIANT,
	 .media = JSON,
	 .max_age = 60},
	{.pattern = "/api/devices/{codename}/updates",
	 .handler = h_device_updates,
	 .methods = ROUTE__READ,
	 .params = VARIANT | PARAM_BIT(PARAM_CURRENT) | PARAM_BIT(PARAM_VARIANT),
	 .required = PARAM_BIT(PARAM_CURRENT),
	 .media = JSON,
	 .max_age = 60},
	{.pattern = "/api/devices/{codename}/feed.atom",
	 .handler = h_device_feed,
	 .methods = ROUTE__READ,
	 .params = VARIANT | PARAM_BIT(PARAM_LIMIT),
	 .media = ATOM,
	 .max_age = 60,
	 .flags = ROUTE_ABSOLUTE_LINKS},
	{.pattern = "/api/releases",
	 .handler = h_releases,
	 .methods = ROUTE__READ,
	 .params = LIST | ALL_RELEASES,
	 .media = JSON,
	 .max_age = 60,
	 .keyset = 3},
	/* Publishing: the body checks (size, scope, type, JSON) run before its handler (app.c). */
	{.pattern = "/api/releases",
	 .handler = h_releases_post,
	 .methods = ROUTE_POST,
	 .media = JSON,
	 .accepts = JSON_BODY,
	 .scope = "releases:write"},
	{.pattern = "/api/releases/latest",
	 .handler = h_releases_latest,
	 .methods = ROUTE__READ,
	 .params = LIST | VARIANT,
	 .media = JSON,
	 .max_age = 60,
	 .keyset = 3},
	{.pattern = "/api/releases/{id}",
	 .handler = h_release_get,
	 .methods = ROUTE__READ,
	 .media = JSON,
	 .max_age = 60},
	{.pattern = "/api/releases/{id}",
	 .handler = h_release_patch,
	 .methods = ROUTE_PATCH,
	 .media = JSON,
	 .accepts = route__merge_patch_body,
	 .scope = "releases:write"},
	{.pattern = "/api/imports",
	 .handler = h_imports_post,
	 .methods = ROUTE_POST | ROUTE_OPTIONS, /* a path of its own: its preflight too */
	 .media = JSON,
	 .accepts = route__import_body,
	 .scope = "releases:write"},
	/* withdrawal: an optional body {"reason": "..."} */
	{.pattern = "/api/releases/{id}",
	 .handler = h_release_withdraw,
	 .methods = ROUTE_DELETE,
	 .media = JSON,
	 .accepts = JSON_BODY,
	 .flags = ROUTE_BODY_OPTIONAL,
	 .scope = "releases:write"},
	{.pattern = "/api/releases/by-filename/{filename}",
	 .handler = h_release_by_filename,
	 .methods = ROUTE__READ,
	 .media = JSON,
	 .max_age = 60},
	/* after by-filename, whose file name may be "restore" */
	{.pattern = "/api/releases/{id}/restore",
	 .handler = h_release_restore,
	 .methods = ROUTE_POST | ROUTE_OPTIONS,
	 .media = JSON,
	 .scope = "releases:write"},
	{.pattern = "/api/regions", .handler = h_regions, .methods = ROUTE__READ, .media = JSON, .max_age = 60},
	{.pattern = "/api/branches", .handler = h_branches, .methods = ROUTE__READ, .media = JSON, .max_age = 60},
	{.pattern = "/api/feed.atom",
	 .handler = h_feed,
	 .methods = ROUTE__READ,
	 .params = ALL_RELEASES | PARAM_BIT(PARAM_LIMIT),
	 .media = ATOM,
	 .max_age = 60,
	 .flags = ROUTE_ABSOLUTE_LINKS},
	/* the change feed: every poller at the head asks the same URL (the next link), answered from the
	 * cache until the data changes; after is not unbounded in practice (probation holds one-off values) */
	{.pattern = "/api/changes",
	 .handler = h_changes,
	 .methods = ROUTE__READ,
	 .params = PARAM_BIT(PARAM_LIMIT) | PARAM_BIT(PARAM_AFTER) | ALL_RELEASES,
	 .media = JSON,
	 .max_age = 60},
	{.pattern = "/api/audit",
	 .handler = h_audit,
	 .methods = ROUTE__READ,
	 .params = LIST | PARAM_BIT(PARAM_ACTOR) | PARAM_BIT(PARAM_RELEASE) | PARAM_BIT(PARAM_SINCE),
	 .media = JSON,
	 .keyset = 1,
	 .scope = "audit:read"},
	/* webhook subscriptions: a token's own (every one with admin), never cached */
	{.pattern = "/api/subscriptions",
	 .handler = h_subscriptions,
	 .methods = ROUTE__READ,
	 .params = LIST,
	 .media = JSON,
	 .keyset = 1,
	 .scope = "subscriptions:write"},
	{.pattern = "/api/subscriptions",
	 .handler = h_subscription_create,
	 .methods = ROUTE_POST,
	 .media = JSON,
	 .accepts = JSON_BODY,
	 .scope = "subscriptions:write"},
	{.pattern = "/api/subscriptions/{id}",
	 .handler = h_subscription_get,
	 .methods = ROUTE__READ,
	 .media = JSON,
	 .scope = "subscriptions:write"},
	{.pattern = "/api/subscriptions/{id}",
	 .handler = h_subscription_patch,
	 .methods = ROUTE_PATCH,
	 .media = JSON,
	 .accepts = route__merge_patch_body,
	 .scope = "subscriptions:write"},
	{.pattern = "/api/subscriptions/{id}",
	 .handler = h_subscription_delete,
	 .methods = ROUTE_DELETE,
	 .media = JSON,
	 .scope = "subscriptions:write"},
	{.pattern = "/api/subscriptions/{id}/rotate-secret",
	 .handler = h_subscription_rotate,
	 .methods = ROUTE_POST | ROUTE_OPTIONS,
	 .media = JSON,
	 .scope = "subscriptions:write"},
	{.pattern = "/api/subscriptions/{id}/ping",
	 .handler = h_subscription_ping,
	 .methods = ROUTE_POST | ROUTE_OPTIONS,
	 .media = JSON,
	 .scope = "subscriptions:write"},
	{.pattern = "/api/subscriptions/{id}/deliveries",
	 .handler = h_subscription_deliveries,
	 .methods = ROUTE__READ,
	 .params = LIST,
	 .media = JSON,
	 .keyset = 1,
	 .scope = "subscriptions:write"},
	{.pattern = "/api/subscriptions/{id}/deliveries/{seq}/retry",
	 .handler = h_subscription_retry,
	 .methods = ROUTE_POST | ROUTE_OPTIONS,
	 .media = JSON,
	 .scope = "subscriptions:write"},
	/* XFU's files, live: whole-archive documents, cached until any change */
	{.pattern = "/api/xfu/latest.yml",
	 .handler = h_xfu_latest,
	 .methods = ROUTE__READ,
	 .media = YAML,
	 .max_age = 60},
	{.pattern = "/api/xfu/devices.yml",
	 .handler = h_xfu_devices,
	 .methods = ROUTE__READ,
	 .media = YAML,
	 .max_age = 60},
	{.pattern = "/api/xfu/rss/{codename}.xml",
	 .handler = h_xfu_rss,
	 .methods = ROUTE__READ,
	 .media = &route__rss,
	 .max_age = 60,
	 .flags = ROUTE_ABSOLUTE_LINKS | ROUTE_ANY_DEVICE},
	{.pattern = "/api/openapi.yaml", .handler = h_openapi, .methods = ROUTE__READ, .media = YAML, .max_age = 60},
	{.pattern = "/metrics",
	 .handler = h_metrics,
	 .methods = ROUTE_GET | ROUTE_HEAD,
	 .media = &route__metrics,
	 .flags = ROUTE_LIVE},
};

#define ROUTE__COUNT (sizeof route__table / sizeof route__table[0])

static bool
route__positive_integer(const char *s)
{
	char *end;
	long long n;

	if (s[0] < '1' || s[0] > '9' || strlen(s) > 18)
		return false;
	errno = 0;
	n = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0 && n > 0;
}

static bool
route__filename(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 255 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool
route__branch(const char *s)
{
	return dom_branch_parse(s) != DOM_BRANCH__MAX;
}

/* Every {name} a pattern may use: its validator, what it must be (the same words as the query
 * parameter of that name, params.h), and where its typed value goes. */
static const struct route__capture {
	const char *name;
	bool (*valid)(const char *value);
	const char *expected; /* completes "<name> must be ..." */
	enum { ROUTE__TEXT, ROUTE__BRANCH, ROUTE__ID } type;
	size_t offset; /* in struct route_path */
} route__captures[] = {
	{"codename", params_codename_valid, PARAMS_EXPECT_CODENAME, ROUTE__TEXT, offsetof(struct route_path, codename)},
	{"branch", route__branch, PARAMS_EXPECT_BRANCH, ROUTE__BRANCH, offsetof(struct route_path, branch)},
	{"version", params_version_valid, PARAMS_EXPECT_VERSION, ROUTE__TEXT, offsetof(struct route_path, version)},
	{"id", route__positive_integer, "a positive integer", ROUTE__ID, offsetof(struct route_path, id)},
	{"seq", route__positive_integer, "a positive integer", ROUTE__ID, offsetof(struct route_path, seq)},
	{"filename", route__filename, "a file name of 1 to 255 letters, digits, '.', '_' or '-'", ROUTE__TEXT,
	 offsetof(struct route_path, filename)},
	{"variant", params_codename_valid, PARAMS_EXPECT_CODENAME, ROUTE__TEXT, offsetof(struct route_path, variant)},
};

static const struct route__capture *
route__capture(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof route__captures / sizeof route__captures[0]; i++)
		if (strlen(route__captures[i].name) == len && memcmp(route__captures[i].name, name, len) == 0)
			return &route__captures[i];
	return NULL;
}

/* Matches one template against the decoded segments. A capture followed by a suffix in its segment
 * ("{codename}.xml") takes the segment without it, copied into the arena. */
static bool
route__try(const char *pattern, const struct http_request *req, struct arena *a, struct route_match *m)
{
	size_t seg = 0;

	m->ncaptures = 0;
	while (*pattern == '/' && seg < req->nsegments) {
		const char *s = req->segments[seg++];
		const char *end = strchrnul(++pattern, '/');

		if (*pattern == '{') {
			const char *suffix = strchr(pattern, '}') + 1;
			size_t suffix_len = (size_t)(end - suffix), len = strlen(s);

			if (len <= suffix_len || m->ncaptures == ROUTE_MAX_CAPTURES ||
			    memcmp(s + len - suffix_len, suffix, suffix_len) != 0)
				return false;
			m->captures[m->ncaptures++] =
				suffix_len == 0 ? s : arena_printf(a, "%.*s", (int)(len - suffix_len), s);
		} else if (strlen(s) != (size_t)(end - pattern) || memcmp(pattern, s, strlen(s)) != 0) {
			return false;
		}
		pattern = end;
	}
	return *pattern == '\0' && seg == req->nsegments;
}

/* The pattern with each capture percent-encoded in its place. */
static const char *
route__canonical(const struct route_match *m, struct arena *a)
{
	const char *t = m->route->pattern, *out = "";
	size_t capture = 0;

	for (const char *open; (open = strchr(t, '{')) != NULL && capture < m->ncaptures;) {
		out = arena_printf(a, "%s%.*s%s", out, (int)(open - t), t, http_encode(a, m->captures[capture++]));
		t = strchr(open, '}') + 1;
	}
	return arena_printf(a, "%s%s", out, t);
}

/* Every method a row may take, in the order Allow lists them. */
static const struct {
	const char *name;
	unsigned bit;
} route__methods[ROUTE_MAX_METHODS] = {
	{"GET", ROUTE_GET}, {"HEAD", ROUTE_HEAD},   {"OPTIONS", ROUTE_OPTIONS}, {"POST", ROUTE_POST},
	{"PUT", ROUTE_PUT}, {"PATCH", ROUTE_PATCH}, {"DELETE", ROUTE_DELETE},
};

unsigned
route_method_bit(const char *method)
{
	for (size_t i = 0; i < ROUTE_MAX_METHODS; i++)
		if (strcmp(route__methods[i].name, method) == 0)
			return route__methods[i].bit;
	return 0;
}

/* The methods of every row of r's pattern. */
static unsigned
route__pattern_methods(const struct route *r)
{
	unsigned bits = 0;

	for (size_t i = 0; i < ROUTE__COUNT; i++)
		if (strcmp(route__table[i].pattern, r->pattern) == 0)
			bits |= route__table[i].methods;
	return bits;
}

bool
route_match(const struct http_request *req, struct arena *a, struct route_match *m)
{
	unsigned bit = route_method_bit(req->method);

	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < ROUTE__COUNT; i++) {
		if (route__try(route__table[i].pattern, req, a, m)) {
			m->route = &route__table[i];
			/* the row of this pattern that takes the method, if one does */
			for (size_t j = i; j < ROUTE__COUNT && bit != 0; j++)
				if ((route__table[j].methods & bit) &&
				    strcmp(route__table[j].pattern, m->route->pattern) == 0) {
					m->route = &route__table[j];
					break;
				}
			m->canonical_path = route__canonical(m, a);
			return true;
		}
	}
	m->ncaptures = 0;
	return false;
}

bool
route_check_path(struct route_match *m, struct arena *a, struct params_error *perr)
{
	const char *t = m->route->pattern;

	for (size_t i = 0; i < m->ncaptures; i++) {
		const char *open = strchr(t, '{'), *close = strchr(open, '}');
		const struct route__capture *c = route__capture(open + 1, (size_t)(close - open - 1));
		const char *value = m->captures[i];
		char *field;

		t = close + 1;
		if (c == NULL) { /* a pattern names a capture the table lacks: a bug, caught by unit.router */
			perr->err = RT_ERR_INTERNAL;
			perr->parameter = NULL;
			perr->detail =
				arena_printf(a, "the route %s has no validator for a capture", m->route->pattern);
			return false;
		}
		if (!c->valid(value)) {
			perr->err = RT_ERR_INVALID_PARAMETER;
			perr->parameter = c->name;
			perr->detail = arena_printf(a, "%s must be %s, not \"%s\"", c->name, c->expected,
						    params_echo(a, value));
			return false;
		}
		field = (char *)&m->path + c->offset;
		if (c->type == ROUTE__BRANCH)
			*(enum dom_branch *)(void *)field = dom_branch_parse(value);
		else if (c->type == ROUTE__ID)
			*(long long *)(void *)field = strtoll(value, NULL, 10);
		else
			*(const char **)(void *)field = value;
	}
	return true;
}

bool
route_method_allowed(const struct route *r, const char *method)
{
	return r != NULL && (r->methods & route_method_bit(method)) != 0;
}

size_t
route_methods(const struct route *r, const char *names[ROUTE_MAX_METHODS])
{
	size_t n = 0;

	for (size_t i = 0; i < ROUTE_MAX_METHODS; i++)
		if (r->methods & route__methods[i].bit)
			names[n++] = route__methods[i].name;
	return n;
}

const char *
route_allow(const struct route *r)
{
	/* one text per row, made at its first use: the table is fixed */
	static char texts[ROUTE__COUNT][sizeof "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"];
	char *text = texts[r - route__table];
	unsigned bits = route__pattern_methods(r);

	if (text[0] == '\0')
		for (size_t i = 0; i < ROUTE_MAX_METHODS; i++)
			if (bits & route__methods[i].bit) {
				if (text[0] != '\0')
					strcat(text, ", ");
				strcat(text, route__methods[i].name);
			}
	return text;
}

size_t
route_count(void)
{
	return ROUTE__COUNT;
}

const struct route *
route_at(size_t i)
{
	return i < ROUTE__COUNT ? &route__table[i] : NULL;
}

size_t
route_index(const struct route *r)
{
	return r != NULL ? (size_t)(r - route__table) : ROUTE__COUNT;
}

const struct route *
route_find(const char *pattern)
{
	for (size_t i = 0; i < ROUTE__COUNT; i++)
		if (strcmp(route__table[i].pattern, pattern) == 0)
			return &route__table[i];
	return NULL;
}

const struct route *
route_find_method(const char *pattern, const char *method)
{
	unsigned bit = route_method_bit(method);

	for (size_t i = 0; i < ROUTE__COUNT; i++)
		if (strcmp(route__table[i].pattern, pattern) == 0 && (route__table[i].methods & bit))
			return &route__table[i];
	return NULL;
}
