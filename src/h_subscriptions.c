/* Webhook subscriptions (issue 12): POST and GET /api/subscriptions, GET, PATCH and DELETE
 * /api/subscriptions/{id}, POST /api/subscriptions/{id}/rotate-secret. A token sees and changes its own
 * subscriptions; a token with the admin scope sees every one. The body is checked here (422 listing every
 * error, the URL by url_guard.c) and handed to one statement calling a function of sql/015_subscriptions.sql.
 * The signing secret is made here (webhook_sign.c) and answered once, when made and when rotated. */
#include "handlers.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "config.h"
#include "cursor.h"
#include "domain.h"
#include "json_writer.h"
#include "params.h"
#include "queries.h"
#include "url_guard.h"
#include "utf8.h"
#include "webhook_sign.h"

#define SUB__URL_MAX 2000         /* bytes of a URL (the table's CHECK) */
#define SUB__DESCRIPTION_MAX 500  /* characters of a description */
#define SUB__FILTER_MAX 100       /* values of one filter */
#define SUB__ROTATION_GRACE 86400 /* seconds the secret before a rotation still signs */

static struct url_net sub__nets[URL_NETWORKS_MAX];
static struct url_policy sub__policy = {.allow = sub__nets};

void
h_subscriptions_configure(const struct cfg *cfg)
{
	size_t n = 0;

	/* cfg_load has checked the list */
	if (!url_networks_parse(cfg->webhook_allow_networks, sub__nets, URL_NETWORKS_MAX, &n))
		n = 0;
	sub__policy.nallow = n;
	sub__policy.allow_http = cfg->webhook_allow_http != 0;
}

/* The token's name: the route has a scope, so app.c has set the actor "token:<name>". */
static const char *
sub__token(const struct handler_ctx *ctx)
{
	return ctx->actor + strlen("token:");
}

/* The {id} of the path, as the statements take it. */
static const char *
sub__id(const struct handler_ctx *ctx)
{
	return arena_printf(ctx->arena, "%lld", ctx->path->id);
}

static bool
sub__event_valid(const char *s)
{
	static const char *const events[] = {"release.created", "release.updated", "release.withdrawn",
					     "release.restored"};

	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
		if (strcmp(s, events[i]) == 0)
			return true;
	return false;
}

static bool
sub__region_valid(const char *s)
{
	return dom_region_parse(s) != DOM_REGION__MAX;
}

static bool
sub__branch_valid(const char *s)
{
	return dom_branch_parse(s) != DOM_BRANCH__MAX;
}

static bool
sub__type_valid(const char *s)
{
	return dom_type_parse(s) != DOM_TYPE__MAX;
}

/* A filter member: absent or null (everything), or 1 to SUB__FILTER_MAX distinct values that valid takes. */
static void
sub__filter(struct handler_ctx *ctx, struct body_errors *e, json_t *body, const char *member,
	    bool (*valid)(const char *), const char *expect)
{
	const char *pointer = body_pointer(ctx->arena, "", member);
	json_t *v = json_object_get(body, member);
	size_t i;

	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > SUB__FILTER_MAX) {
		body_error(e, pointer, "must be null (everything) or an array of 1 to %d of %s", SUB__FILTER_MAX,
			   expect);
		return;
	}
	for (i = 0; i < json_array_size(v); i++) {
		json_t *item = json_array_get(v, i);
		const char *at = body_pointer_index(ctx->arena, pointer, i);

		if (!json_is_string(item) || !valid(json_string_value(item))) {
			body_error(e, at, "must be one of %s", expect);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (json_equal(item, json_array_get(v, j))) {
				body_error(e, at, "repeats %s/%zu", pointer, j);
				break;
			}
	}
}

/* The members a subscription's body may have: on creation url is required and after may name where in the
 * change feed to start; a patch may set enabled. */
static void
sub__check(struct handler_ctx *ctx, struct body_errors *e, json_t *body, bool patch)
{
	static const char *const create_members[] = {"url",   "description", "codenames", "regions", "branches",
						     "types", "events",      "after",     NULL};
	static const char *const patch_members[] = {"url",   "description", "codenames", "regions", "branches",
						    "types", "events",      "enabled",   NULL};
	json_t *v;

	if (!json_is_object(body)) {
		body_error(e, "",
			   "the body must be an object (url, description, codenames, regions, branches, types, "
			   "events)");
		return;
	}
	body_unknown_members(e, "", body, patch ? patch_members : create_members);
	if (patch && json_object_size(body) == 0)
		body_error(e, "", "the patch changes nothing: give at least one member");
	v = json_object_get(body, "url");
	if (v == NULL) {
		if (!patch)
			body_error(e, "/url", "is required: the https URL to deliver to");
	} else if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > SUB__URL_MAX) {
		body_error(e, "/url", "must be a URL of 1 to %d bytes", SUB__URL_MAX);
	} else {
		char detail[512];
		const char *url = json_string_value(v);

		if (url_guard_check(&sub__policy, url, detail, sizeof detail) != URL_OK)
			body_error(e, "/url", "cannot be delivered to: %s", detail);
		/* libcurl also takes "HTTPS:" and "https:/x": the stored URL is written as the table's CHECK wants */
		else if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
			body_error(e, "/url", "must start with https:// (in lower case)");
	}
	v = json_object_get(body, "description");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || utf8_chars(json_string_value(v)) > SUB__DESCRIPTION_MAX)
			body_error(e, "/description", "must be a string of at most %d characters, or null",
				   SUB__DESCRIPTION_MAX);
		else if (utf8_has_control(json_string_value(v)))
			body_error(e, "/description", "must not contain control characters");
	}
	sub__filter(ctx, e, body, "codenames", params_codename_valid, "device or variant codenames");
	sub__filter(ctx, e, body, "regions", sub__region_valid, dom_region_list());
	sub__filter(ctx, e, body, "branches", sub__branch_valid, dom_branch_list());
	sub__filter(ctx, e, body, "types", sub__type_valid, dom_type_list());
	sub__filter(ctx, e, body, "events", sub__event_valid,
		    "release.created, release.updated, release.withdrawn, release.restored");
	v = json_object_get(body, "after");
	if (v != NULL && !(json_is_integer(v) && json_integer_value(v) >= 0))
		body_error(e, "/after", "must be a sequence number of the change feed (0 replays every change)");
	v = json_object_get(body, "enabled");
	if (v != NULL && !json_is_boolean(v))
		body_error(e, "/enabled", "must be true (resume where it stopped) or false");
}

/* The body's JSON text for the statement; NULL after a 422 (or a 500). */
static const char *
sub__body(struct handler_ctx *ctx, bool patch)
{
	struct body_errors *e = body_errors_new(ctx->arena);
	char *text;

	sub__check(ctx, e, ctx->req->body_json, patch);
	if (body_error_count(e) > 0) {
		body_errors_send(e, ctx->res);
		return NULL;
	}
	text = json_dumps(ctx->req->body_json, JSON_COMPACT);
	if (text == NULL) {
		h_problem(ctx, RT_ERR_INTERNAL, NULL, NULL);
		return NULL;
	}
	arena_adopt(ctx->arena, text);
	return text;
}

static void
sub__not_found(struct handler_ctx *ctx)
{
	h_problem(ctx, RT_ERR_SUBSCRIPTION_NOT_FOUND,
		  arena_printf(ctx->arena, "no subscription with the id \"%lld\" is this token's", ctx->path->id),
		  NULL);
}

/* Answers doc (a subscription's JSON text) with the member secret added: the one time it is shown. */
static void
sub__send_with_secret(struct handler_ctx *ctx, int status, const char *doc, const char *secret)
{
	json_t *j = json_loads(doc, 0, NULL);
	char *text;

	if (j == NULL || json_object_set_new(j, "secret", json_string(secret)) != 0 ||
	    (text = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		h_problem(ctx, RT_ERR_INTERNAL, NULL, NULL);
		return;
	}
	json_decref(j);
	http_set_body(ctx->res, status, "application/json", arena_strdup(ctx->arena, text));
	free(text);
}

void
h_subscription_create(struct handler_ctx *ctx)
{
	char secret[WEBHOOK_SECRET_MAX];
	const char *body = sub__body(ctx, false), *outcome;
	PGresult *res;

	if (body == NULL)
		return;
	webhook_secret_new(secret);
	res = h_query(ctx, DB_STMT_SUBSCRIPTION_CREATE,
		      &(struct db_args){.token = sub__token(ctx), .secret = secret, .body = body});
	if (res == NULL)
		goto out;
	outcome = PQgetvalue(res, 0, 0);
	if (strcmp(outcome, "created") == 0) {
		const char *doc = PQgetvalue(res, 0, 2);
		json_t *j = json_loads(doc, 0, NULL);

		sub__send_with_secret(ctx, 201, doc, secret);
		if (ctx->res->status == 201 && j != NULL)
			http_add_header(ctx->res, "Location",
					arena_printf(ctx->arena, "/api/subscriptions/%lld",
						     (long long)json_integer_value(json_object_get(j, "id"))));
		json_decref(j);
	} else if (strcmp(outcome, "too-many") == 0) {
		h_problem(ctx, RT_ERR_CONFLICT, "this token has 100 subscriptions, the most one may have", NULL);
	} else if (strcmp(outcome, "after-ahead") == 0) {
		struct body_errors *e = body_errors_new(ctx->arena);

		body_error(e, "/after", "is past the head of the change feed, %s", PQgetvalue(res, 0, 1));
		body_errors_send(e, ctx->res);
	} else {
		h_problem(ctx, RT_ERR_INTERNAL, NULL, NULL); /* no-token: the token was revoked meanwhile */
	}
out:
	sodium_memzero(secret, sizeof secret);
}

/* A keyset page of a statement whose rows are (id, JSON document), asked for with limit + 1 rows: the
 * documents, and the next page's link after the limit-th id. */
static void
sub__page(struct handler_ctx *ctx, const PGresult *res, long limit)
{
	const char *next = NULL;
	int n = PQntuples(res);
	struct jw *w;

	if (n > limit) {
		const char *fields[1] = {PQgetvalue(res, (int)limit - 1, 0)};

		next = h_next_url(ctx, cursor_encode(ctx->arena, h_cursor_scope(ctx), fields, 1));
		n = (int)limit;
	}
	w = h_list_begin(ctx);
	for (int i = 0; i < n; i++)
		h_json_column_write(w, res, i, 1);
	h_list_end(ctx, w, next);
}

void
h_subscriptions(struct handler_ctx *ctx)
{
	long limit = ctx->params->limit;
	PGresult *res;

	res = h_query(ctx, DB_STMT_SUBSCRIPTIONS,
		      &(struct db_args){.token = sub__token(ctx),
					.after_id = ctx->after[0],
					.limit = arena_printf(ctx->arena, "%ld", limit + 1)});
	if (res == NULL)
		return;
	sub__page(ctx, res, limit);
}

void
h_subscription_get(struct handler_ctx *ctx)
{
	PGresult *res =
		h_query(ctx, DB_STMT_SUBSCRIPTION_GET, &(struct db_args){.token = sub__token(ctx), .id = sub__id(ctx)});

	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		sub__not_found(ctx);
		return;
	}
	http_set_body(ctx->res, 200, "application/json", arena_strdup(ctx->arena, PQgetvalue(res, 0, 0)));
}

void
h_subscription_patch(struct handler_ctx *ctx)
{
	const char *body = sub__body(ctx, true);
	PGresult *res;

	if (body == NULL)
		return;
	res = h_query(ctx, DB_STMT_SUBSCRIPTION_PATCH,
		      &(struct db_args){.token = sub__token(ctx), .id = sub__id(ctx), .body = body});
	if (res == NULL)
		return;
	if (strcmp(PQgetvalue(res, 0, 0), "updated") != 0) {
		sub__not_found(ctx);
		return;
	}
	http_set_body(ctx->res, 200, "application/json", arena_strdup(ctx->arena, PQgetvalue(res, 0, 1)));
}

void
h_subscription_delete(struct handler_ctx *ctx)
{
	PGresult *res = h_query(ctx, DB_STMT_SUBSCRIPTION_DELETE,
				&(struct db_args){.token = sub__token(ctx), .id = sub__id(ctx)});

	if (res == NULL)
		return;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		sub__not_found(ctx);
		return;
	}
	ctx->res->status = 204;
}

void
h_subscription_rotate(struct handler_ctx *ctx)
{
	char secret[WEBHOOK_SECRET_MAX];
	PGresult *res;

	webhook_secret_new(secret);
	res = h_query(ctx, DB_STMT_SUBSCRIPTION_ROTATE,
		      &(struct db_args){.token = sub__token(ctx),
					.id = sub__id(ctx),
					.secret = secret,
					.grace = arena_printf(ctx->arena, "%d", SUB__ROTATION_GRACE)});
	if (res != NULL) {
		if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
			sub__not_found(ctx);
		else
			sub__send_with_secret(ctx, 200, PQgetvalue(res, 0, 0), secret);
	}
	sodium_memzero(secret, sizeof secret);
}

/* A delivery asked for by hand: a ping (seq NULL) or one event again. 202: the deliverer sends it before the
 * subscription's next event; the deliveries list then has its attempt. */
static void
sub__request(struct handler_ctx *ctx, const char *seq)
{
	PGresult *res = h_query(ctx, DB_STMT_SUBSCRIPTION_REQUEST,
				&(struct db_args){.token = sub__token(ctx), .id = sub__id(ctx), .after_seq = seq});
	const char *outcome;

	if (res == NULL)
		return;
	outcome = PQgetvalue(res, 0, 0);
	if (strcmp(outcome, "requested") == 0) {
		struct jw *w = jw_new(ctx->arena);

		jw_object_begin(w);
		jw_key(w, "request");
		jw_int(w, strtoll(PQgetvalue(res, 0, 1), NULL, 10));
		jw_key(w, "event_id");
		jw_string(w, seq != NULL ? arena_printf(ctx->arena, "msg_%lld_%s", ctx->path->id, seq)
					 : arena_printf(ctx->arena, "msg_%lld_ping_%s", ctx->path->id,
							PQgetvalue(res, 0, 1)));
		jw_object_end(w);
		http_set_body(ctx->res, 202, "application/json", jw_text(w, NULL));
		http_add_header(ctx->res, "Location",
				arena_printf(ctx->arena, "/api/subscriptions/%lld/deliveries", ctx->path->id));
	} else if (strcmp(outcome, "not-found") == 0) {
		sub__not_found(ctx);
	} else if (strcmp(outcome, "disabled") == 0) {
		h_problem(ctx, RT_ERR_CONFLICT,
			  "the subscription is disabled: resume it first (PATCH {\"enabled\": true})", NULL);
	} else if (strcmp(outcome, "no-event") == 0) {
		h_problem(ctx, RT_ERR_NOT_FOUND,
			  arena_printf(ctx->arena, "no change of a release has the sequence number %s", seq), NULL);
	} else if (strcmp(outcome, "too-many") == 0) {
		h_problem(ctx, RT_ERR_CONFLICT, "10 deliveries asked for by hand are waiting already", NULL);
	} else {
		h_problem(ctx, RT_ERR_INTERNAL, NULL, NULL);
	}
}

void
h_subscription_ping(struct handler_ctx *ctx)
{
	sub__request(ctx, NULL);
}

void
h_subscription_retry(struct handler_ctx *ctx)
{
	sub__request(ctx, arena_printf(ctx->arena, "%lld", ctx->path->seq));
}

void
h_subscription_deliveries(struct handler_ctx *ctx)
{
	long limit = ctx->params->limit;
	PGresult *res;

	/* a subscription the token does not see is a 404, not an empty list */
	res = h_query(ctx, DB_STMT_SUBSCRIPTION_GET, &(struct db_args){.token = sub__token(ctx), .id = sub__id(ctx)});
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		sub__not_found(ctx);
		return;
	}
	res = h_query(ctx, DB_STMT_SUBSCRIPTION_DELIVERIES,
		      &(struct db_args){.token = sub__token(ctx),
					.id = sub__id(ctx),
					.after_id = ctx->after[0],
					.limit = arena_printf(ctx->arena, "%ld", limit + 1)});
	if (res == NULL)
		return;
	sub__page(ctx, res, limit);
}
