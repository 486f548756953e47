/* Request dispatch: URI checks, route lookup, method check, body, authorization, parameter validation, handler. */
#include "app.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "body.h"
#include "buf.h"
#include "handlers.h"
#include "http_semantics.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "resp_cache.h"
#include "router.h"
#include "token.h"

static int app__max_age = 60;              /* cache_max_age: a route's own max age is a ceiling */
static bool app__host_in_feeds;            /* no public_url: feeds name the Host of each request */
static size_t app__max_body = 1024 * 1024; /* max_body_kb, in bytes */
static enum log_access app__access_log = LOG_ACCESS_LOGFMT;
static long app__write_limit = 120, app__write_burst = 60; /* write_limit_per_minute, write_burst */

/* What dispatch learnt of a request besides its response: whether the response cache could answer it ("hit",
 * "miss"; NULL: not cacheable) and the token's name when it had to send one (for the access log), and for a write
 * that drew from its token's bucket the RateLimit field's value (its answer carries it, whatever it is). */
struct app__outcome {
	const char *cache;
	const char *token;
	const char *rate_limit;
};

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

static bool
app__is_write(const struct route *route, const char *method)
{
	return route->scope != NULL && strcmp(route->scope, "audit:read") != 0 && strcmp(method, "GET") != 0 &&
	       strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0;
}

/*
 * A write takes one from its token's bucket (sql/019, shared by every worker and host): refused with 429 and
 * Retry-After once it is empty. Every write's answer says where the token stands, in the fields of
 * draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy ("writes";q=<a minute>;w=60) and RateLimit
 * ("writes";r=<left>;t=<seconds until the next>). When the bucket cannot be read the write goes on: its own
 * statements meet the same database.
 */
static bool
app__write_allowed(struct handler_ctx *ctx, struct app__outcome *outcome)
{
	char per_minute[24], burst[24];
	PGresult *res = NULL;
	bool allowed;
	long long reset;

	if (app__write_limit <= 0)
		return true;
	snprintf(per_minute, sizeof per_minute, "%ld", app__write_limit);
	snprintf(burst, sizeof burst, "%ld", app__write_burst);
	if (db_exec(ctx->db, DB_STMT_TOKEN_WRITE_TAKE,
		    &(struct db_args){.token = outcome->token, .per_minute = per_minute, .burst = burst},
		    &res) != RT_OK ||
	    PQntuples(res) != 1) {
		log_warn("the write limit of token %s could not be read (%s): the write goes on", outcome->token,
			 db_error(ctx->db));
		PQclear(res);
		return true;
	}
	allowed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	reset = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	outcome->rate_limit = arena_printf(ctx->arena, "\"writes\";r=%s;t=%lld", PQgetvalue(res, 0, 1), reset);
	PQclear(res);
	if (!allowed) {
		h_problem(ctx, RT_ERR_TOO_MANY_REQUESTS,
			  arena_printf(ctx->arena,
				       "the token has used up its writes (%ld a minute, %ld at once): the next is "
				       "allowed in %lld s",
				       app__write_limit, app__write_burst, reset),
			  NULL);
		http_add_header(ctx->res, "Retry-After", arena_printf(ctx->arena, "%lld", reset > 0 ? reset : 1));
	}
	return allowed;
}

/* The rate limit fields of a write's answer, whatever it is, once its token drew from its bucket. */
static void
app__rate_headers(struct http_request *req, struct http_response *res, const struct app__outcome *outcome)
{
	if (outcome->rate_limit == NULL)
		return;
	http_add_header(res, "RateLimit-Policy", arena_printf(req->arena, "\"writes\";q=%ld;w=60", app__write_limit));
	http_add_header(res, "RateLimit", outcome->rate_limit);
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
app__dispatch(struct db *db, struct http_request *req, struct http_response *res, const char **content_type,
	      struct app__outcome *outcome)
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
	if (ctx.actor != NULL)
		outcome->token = ctx.actor + strlen("token:");
	if (outcome->token != NULL && app__is_write(route, req->method) && !app__write_allowed(&ctx, outcome))
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
		outcome->cache = "hit";
		return route;
	}
	if (cache_key != NULL) {
		metrics_cache_miss();
		outcome->cache = "miss";
	}
	route->handler(&ctx);
	if (safe && !(route->flags & ROUTE_LIVE) && res->status == 200)
		http_set_etag(req, res);
	if (cache_key != NULL && res->status == 200)
		/* an answer under /api/devices/{codename} shows that device only (sql/012) */
		resp_cache_store(cache_key, res, route->flags & ROUTE_ANY_DEVICE ? NULL : match.path.codename);
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

/* A logfmt value: as it is when it needs no quotes, else in quotes with " and \ escaped (the path is still
 * percent-encoded, a token's name and a route's pattern have no blank: quotes are for what should not happen). */
static void
app__logfmt(struct buf *b, const char *key, const char *value)
{
	bool plain = value[0] != '\0' && strcspn(value, " \"=\\") == strlen(value);

	buf_printf(b, " %s=", key);
	if (plain) {
		buf_puts(b, value);
		return;
	}
	buf_puts(b, "\"");
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if ((unsigned char)*p >= 0x20)
			buf_printf(b, "%c", *p);
	}
	buf_puts(b, "\"");
}

/* The time of an access log line: "2026-12-03T16:00:00.123Z". */
static void
app__stamp(char *stamp, size_t len)
{
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + strlen(stamp), len - strlen(stamp), ".%03ldZ", now.tv_nsec / 1000000);
}

/* The access log's line of a request (access_log): never the query (a client may put anything in it), never a
 * header's value but the request id. "-" (logfmt) or "" (json) for what a request has not: an id, a route, a
 * cache, a token. */
static void
app__access(const struct http_request *req, const struct http_response *res, const struct route *route,
	    const struct app__outcome *outcome, double seconds)
{
	const char *path = req->path != NULL ? req->path : "", *id = req->request_id;
	const char *pattern = route != NULL ? route->pattern : NULL;
	char stamp[40];

	if (app__access_log == LOG_ACCESS_OFF)
		return;
	app__stamp(stamp, sizeof stamp);
	if (app__access_log == LOG_ACCESS_JSON) {
		json_t *o = json_pack("{ss ss ss ss ss si sf ss sI ss}", "time", stamp, "request_id", id ? id : "",
				      "method", req->method, "path", path, "route", pattern ? pattern : "", "status",
				      res->status, "duration_ms", seconds * 1000, "cache",
				      outcome->cache ? outcome->cache : "", "bytes", (json_int_t)res->body_len, "token",
				      outcome->token ? outcome->token : "");
		char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

		if (text != NULL)
			log_line(text);
		free(text);
		json_decref(o);
	} else {
		struct buf b = {0};

		buf_printf(&b, "time=%s", stamp);
		app__logfmt(&b, "request_id", id ? id : "-");
		app__logfmt(&b, "method", req->method);
		app__logfmt(&b, "path", path);
		app__logfmt(&b, "route", pattern ? pattern : "-");
		buf_printf(&b, " status=%d duration_ms=%.3f", res->status, seconds * 1000);
		app__logfmt(&b, "cache", outcome->cache ? outcome->cache : "-");
		buf_printf(&b, " bytes=%zu", res->body_len);
		app__logfmt(&b, "token", outcome->token ? outcome->token : "-");
		log_line(b.data);
		buf_free(&b);
	}
}

/* A write through the API (a route with a scope, by a method that changes something), for its metric. */
static void
app__count_write(const struct route *route, const char *method, int status)
{
	if (route == NULL || !app__is_write(route, method))
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
	struct app__outcome outcome = {0};
	double started = app__seconds(), seconds;
	int max_age;

	memset(res, 0, sizeof *res);
	route = app__dispatch(db, req, res, &content_type, &outcome);
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
	app__rate_headers(req, res, &outcome);
	max_age = route == NULL ? 0 : route->max_age < app__max_age ? route->max_age : app__max_age;
	http_finish(req, res, max_age);
	seconds = app__seconds() - started;
	app__access(req, res, route, &outcome, seconds);
	metrics_request(route_index(route), res->status, seconds);
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
	app__access_log = cfg->access_log;
	app__write_limit = cfg->write_limit_per_minute;
	app__write_burst = cfg->write_burst;
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
