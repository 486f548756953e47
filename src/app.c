/* Request dispatch: URI checks, route lookup, method check, body, authorization, parameter validation, handler. */
#include "app.h"

#include <string.h>
#include <time.h>

#include "auth.h"
#include "body.h"
#include "handlers.h"
#include "http_semantics.h"
#include "metrics.h"
#include "params.h"
#include "resp_cache.h"
#include "router.h"
#include "token.h"

static int app__max_age = 60;              /* cache_max_age: a route's own max age is a ceiling */
static bool app__host_in_feeds;            /* no public_url: feeds name the Host of each request */
static size_t app__max_body = 1024 * 1024; /* max_body_kb, in bytes */

/*
 * Where a route's scope (route->scope) is checked, for reads and writes alike, after the method
 * and the body's framing (body_read) and before anything else of the request is looked at (its
 * Content-Type, its JSON, the handler): 401 for a missing, unknown, expired or revoked token, 403
 * for one without the scope (auth.c). On success ctx->actor names the token ("token:<name>"),
 * what the writes record as their author.
 */
static bool
app__authorized(struct handler_ctx *ctx, const struct route *route)
{
	char name[TOKEN_NAME_MAX + 1];
	enum auth_result result;

	if (route->scope == NULL)
		return true;
	result = auth_check(ctx->db, ctx->req->authorization, route->scope, name, sizeof name);
	if (result != AUTH_OK) {
		auth_respond(ctx->res, ctx->arena, result, route->scope);
		return false;
	}
	ctx->actor = arena_printf(ctx->arena, "token:%s", name);
	return true;
}

/* A CORS preflight: which methods and headers a cross-origin page may use. */
static void
app__preflight(struct http_response *res, const struct route *route)
{
	res->status = 204;
	http_add_header(res, "Allow", route_allow(route));
	http_add_header(res, "Access-Control-Allow-Methods", route_allow(route));
	http_add_header(res, "Access-Control-Allow-Headers", HTTP_CORS_ALLOW_HEADERS);
	http_add_header(res, "Access-Control-Max-Age", "86400");
}

/* Brings the response cache up to date: drops what the changes heard of since the last time may
 * affect (db_take_changes); false when the database cannot be reached (the cache is then emptied).
 * Costs one round trip without a statement (db_data_version). */
static bool
app__cache_valid(struct db *db)
{
	if (db_data_version(db) == NULL) {
		resp_cache_clear();
		return false;
	}
	resp_cache_invalidate(db_take_changes(db));
	return true;
}

/* Fills res from the cache when it holds a current answer for the key. The changes are
 * checked on a hit only: on a miss the handler's own queries see every change committed
 * before the request; a change they may have missed is still to be taken, and drops the
 * stored answer at the next hit. */
static bool
app__cached(struct db *db, const char *key, struct http_response *res)
{
	if (!resp_cache_lookup(key, res))
		return false;
	if (app__cache_valid(db) && resp_cache_lookup(key, res))
		return true;
	memset(res, 0, sizeof *res); /* the entry is gone: the handler starts afresh */
	return false;
}

/* The detail of a 406: what the route can send. */
static const char *
app__not_acceptable(struct arena *a, const struct route *route)
{
	const struct http_media *media = route->media;
	const char *types = media->types[0];

	for (size_t i = 1; media->types[i] != NULL; i++)
		types = arena_printf(a, "%s%s%s", types, media->types[i + 1] ? ", " : " or ", media->types[i]);
	return arena_printf(a, "%s answers with %s only, which Accept excludes", route->pattern, types);
}

/* "/" and the decoded segments: the path as a message may quote it. */
static const char *
app__path_text(const struct http_request *req)
{
	const char *text = "";

	for (size_t i = 0; i < req->nsegments; i++)
		text = arena_printf(req->arena, "%s/%s", text, req->segments[i]);
	return text;
}

/* Routes, checks and answers the request; the caller adds the common headers. Returns the
 * route (NULL when none matched). *content_type: the negotiated media type, once known. */
static const struct route *
app__dispatch(struct db *db, struct http_request *req, struct http_response *res, const char **content_type)
{
	struct route_match match;
	struct params params;
	struct params_error perr;
	struct handler_ctx ctx = {
		.db = db,
		.req = req,
		.res = res,
		.match = &match,
		.path = &match.path,
		.params = &params,
		.arena = req->arena,
	};
	const struct route *route;
	const char *detail = NULL, *cache_key = NULL;
	enum rt_err err;
	bool safe = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	err = http_parse_uri(req, &detail);
	if (err != RT_OK) {
		http_problem(res, req->arena, err, detail, NULL);
		return NULL;
	}
	if (!route_match(req, req->arena, &match)) {
		http_problem(res, req->arena, RT_ERR_NOT_FOUND,
			     arena_printf(req->arena, "no route matches %s", app__path_text(req)), NULL);
		return NULL;
	}
	route = match.route;
	if (!route_method_allowed(route, req->method)) {
		http_problem(res, req->arena, RT_ERR_METHOD_NOT_ALLOWED,
			     arena_printf(req->arena, "%s accepts only %s", route->pattern, route_allow(route)), NULL);
		http_add_header(res, "Allow", route_allow(route));
		return route;
	}
	if (strcmp(req->method, "OPTIONS") == 0) {
		app__preflight(res, route);
		return route;
	}
	/* the order: the body's size and framing (413 agrees with nginx's, which comes before any
	 * authorization), the scope, then what the request asks for and sends */
	if (!body_read(route, req, res, app__max_body) || !app__authorized(&ctx, route))
		return route;
	*content_type = http_negotiate(req->accept, route->media);
	if (*content_type == NULL) {
		http_problem(res, req->arena, RT_ERR_NOT_ACCEPTABLE, app__not_acceptable(req->arena, route), NULL);
		return route;
	}
	if (!params_parse(req, route->params, route->required, &params, &perr) ||
	    !route_check_path(&match, req->arena, &perr)) {
		http_problem(res, req->arena, perr.err, perr.detail, perr.parameter);
		return route;
	}
	if (!body_accept(route, req, res) || !h_cursor(&ctx))
		return route;
	/* keyed by what the request means, not how it is spelled; the body is the same under
	 * each label negotiation may give it (app_handle relabels it), so the route's first
	 * media type stands for all */
	if (safe && route->scope == NULL && resp_cache_admits(&match, &params)) {
		cache_key = resp_cache_key(req->arena, &match, &params, route->media->types[0]);
		/* without public_url a feed's links name the Host it was asked under: one entry per
		 * host (the key's values are percent-encoded, so the space cannot be forged) */
		if (app__host_in_feeds && (route->flags & ROUTE_ABSOLUTE_LINKS))
			cache_key = arena_printf(req->arena, "%s %s", cache_key, http_request_base_url(req));
	}
	if (cache_key != NULL && app__cached(db, cache_key, res)) {
		metrics_cache_hit();
		return route;
	}
	if (cache_key != NULL && resp_cache_enabled())
		metrics_cache_miss();
	route->handler(&ctx);
	if (safe && !(route->flags & ROUTE_LIVE) && res->status == 200)
		http_set_etag(req, res);
	if (cache_key != NULL && res->status == 200)
		/* an answer under /api/devices/{codename} shows that device only (sql/012) */
		resp_cache_store(cache_key, res, match.path.codename);
	return route;
}

/* Whether the negotiated type names the body's (whose label may carry parameters: "text/plain; version=0.0.4"). */
static bool
app__same_type(const char *negotiated, const char *label)
{
	size_t n = strcspn(label, ";");

	while (n > 0 && label[n - 1] == ' ')
		n--;
	return strlen(negotiated) == n && strncmp(negotiated, label, n) == 0;
}

static double
app__seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A write through the API (a route with a scope, by a method that changes something), for its metric. */
static void
app__count_write(const struct route *route, const char *method, int status)
{
	if (route == NULL || route->scope == NULL || strcmp(route->scope, "audit:read") == 0 ||
	    strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0)
		return;
	if (strcmp(route->pattern, "/api/imports") == 0)
		metrics_write(METRICS_WRITE_IMPORT, status);
	else if (strncmp(route->pattern, "/api/subscriptions", strlen("/api/subscriptions")) == 0)
		metrics_write(METRICS_WRITE_SUBSCRIPTION, status);
	else
		metrics_write(METRICS_WRITE_RELEASE, status);
}

void
app_handle(struct db *db, struct http_request *req, struct http_response *res)
{
	const struct route *route;
	const char *content_type = NULL;
	double started = app__seconds();
	int max_age;

	memset(res, 0, sizeof *res);
	route = app__dispatch(db, req, res, &content_type);
	/* one body under each of its labels: the label the client asked for, and, as another
	 * representation, an entity tag of its own (RFC 9110, 8.8.3) */
	if (res->status == 200 && content_type != NULL && res->content_type != NULL &&
	    !app__same_type(content_type, res->content_type)) {
		const char *tagged;

		http_set_etag(req, res);
		tagged = arena_printf(req->arena, "%s %s", res->etag, content_type);
		res->etag = http_etag(req->arena, tagged, strlen(tagged));
		res->content_type = content_type;
	}
	/* Every 503 (the database is unavailable): by then each worker has tried to reconnect. */
	if (res->status == 503)
		http_add_header(res, "Retry-After", arena_printf(req->arena, "%d", DB_RETRY_MAX_MS / 1000));
	max_age = route == NULL ? 0 : route->max_age < app__max_age ? route->max_age : app__max_age;
	http_finish(req, res, max_age);
	metrics_request(route_index(route), res->status, app__seconds() - started);
	app__count_write(route, req->method, res->status);
	metrics_cache_size(resp_cache_count(), resp_cache_bytes());
}

void
app_init(const struct cfg *cfg)
{
	h_openapi_load(cfg->openapi);
	h_feeds_configure(cfg->public_url, cfg->release_page_url);
	h_changes_configure(cfg->poll_interval);
	h_subscriptions_configure(cfg);
	h_metrics_configure(cfg);
	app__max_age = (int)cfg->cache_max_age;
	app__host_in_feeds = cfg->public_url[0] == '\0';
	app__max_body = (size_t)cfg->max_body_kb * 1024;
	db_set_timeout(cfg->database_timeout);
	resp_cache_init((size_t)cfg->response_cache_mb * 1024 * 1024);
}

void
app_cleanup(void)
{
	resp_cache_free();
	h_openapi_free();
	h_feeds_configure(NULL, NULL);
}
