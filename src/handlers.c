/* Helpers every handler shares: JSON bodies, lists with next links, queries, problems. */
#include "handlers.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cursor.h"
#include "http_semantics.h"

static void
h__pqclear(void *p)
{
	PQclear(p);
}

void
h_send(struct handler_ctx *ctx, struct jw *w)
{
	http_set_body(ctx->res, 200, "application/json", jw_text(w, NULL));
}

const char *
h_next_url(struct handler_ctx *ctx, const char *cursor)
{
	const char *filters = params_filter_query(ctx->params, ctx->arena);

	return arena_printf(ctx->arena, "%s?%s%slimit=%ld&cursor=%s", ctx->match->canonical_path, filters,
			    filters[0] ? "&" : "", ctx->params->limit, cursor);
}

const char *
h_self_url(struct handler_ctx *ctx)
{
	const char *query = params_filter_query(ctx->params, ctx->arena);

	if (ctx->params->limit != PARAM_LIMIT_DEFAULT)
		query = arena_printf(ctx->arena, "%s%slimit=%ld", query, query[0] ? "&" : "", ctx->params->limit);
	return arena_printf(ctx->arena, "%s%s%s", ctx->match->canonical_path, query[0] ? "?" : "", query);
}

const char *
h_cursor_scope(struct handler_ctx *ctx)
{
	const char *scope = ctx->match->route->pattern;

	for (size_t i = 0; i < ctx->match->ncaptures; i++)
		scope = arena_printf(ctx->arena, "%s|%s", scope, ctx->match->captures[i]);
	return arena_printf(ctx->arena, "%s?%s", scope, params_filter_query(ctx->params, ctx->arena));
}

struct jw *
h_list_begin(struct handler_ctx *ctx)
{
	struct jw *w = jw_new(ctx->arena);

	jw_object_begin(w);
	jw_key(w, "data");
	jw_array_begin(w);
	return w;
}

void
h_list_end(struct handler_ctx *ctx, struct jw *w, const char *next)
{
	jw_array_end(w);
	jw_key(w, "next");
	jw_string(w, next);
	jw_object_end(w);
	if (next != NULL)
		http_add_header(ctx->res, "Link", arena_printf(ctx->arena, "<%s>; rel=\"next\"", next));
	h_send(ctx, w);
}

void
h_problem(struct handler_ctx *ctx, enum rt_err err, const char *detail, const char *parameter)
{
	http_problem(ctx->res, ctx->arena, err, detail, parameter);
}

PGresult *
h_query(struct handler_ctx *ctx, enum db_stmt stmt, const struct db_args *args)
{
	PGresult *res = NULL;
	enum rt_err err = db_exec(ctx->db, stmt, args, &res);

	if (err != RT_OK) {
		h_problem(ctx, err,
			  err == RT_ERR_DB_UNAVAILABLE ? "the database is not reachable, try again later" : NULL, NULL);
		return NULL;
	}
	arena_cleanup_add(ctx->arena, h__pqclear, res);
	return res;
}

void
h_json_column_write(struct jw *w, const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		jw_null(w);
	else
		jw_raw(w, PQgetvalue(res, row, col));
}

const char *
h_release_text(struct handler_ctx *ctx, const PGresult *res, int row)
{
	struct jw *w = jw_new(ctx->arena);

	h_release_write(w, res, row);
	return jw_text(w, NULL);
}

const char *
h_release_etag(struct handler_ctx *ctx, const PGresult *res, int row)
{
	const char *text = h_release_text(ctx, res, row);

	/* one media type: no label of another is mixed in (app.c) */
	return http_etag(ctx->arena, text, strlen(text));
}

void
h_release_send(struct handler_ctx *ctx, int status, const char *id)
{
	PGresult *res = h_query(ctx, DB_STMT_RELEASE_BY_ID, &(struct db_args){.id = id});
	const char *text;

	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		h_release_not_found(ctx, arena_printf(ctx->arena, "id \"%s\"", id));
		return;
	}
	text = h_release_text(ctx, res, 0);
	h_last_modified(ctx, PQgetvalue(res, 0, RELCOL_MODIFIED));
	http_set_body(ctx->res, status, "application/json", text);
	ctx->res->etag = http_etag(ctx->arena, text, strlen(text));
}

void
h_release_gone(struct handler_ctx *ctx, const PGresult *res, const char *what, const char *hint)
{
	const char *at = PQgetvalue(res, 0, WDCOL_AT);
	const char *by = PQgetisnull(res, 0, WDCOL_BY) ? NULL : PQgetvalue(res, 0, WDCOL_BY);
	const char *reason = PQgetisnull(res, 0, WDCOL_REASON) ? NULL : PQgetvalue(res, 0, WDCOL_REASON);

	http_problem_with(ctx->res, ctx->arena, RT_ERR_GONE,
			  arena_printf(ctx->arena, "the release %s was withdrawn on %s%s%s%s", what, at,
				       by ? " by " : "", by ? by : "", hint),
			  json_pack("{s:s, s:s?, s:s?}", "withdrawn_at", at, "withdrawn_by", by, "reason", reason));
}

void
h_release_not_found(struct handler_ctx *ctx, const char *what)
{
	h_problem(ctx, RT_ERR_RELEASE_NOT_FOUND, arena_printf(ctx->arena, "no release has the %s", what), NULL);
}

void
h_device_not_found(struct handler_ctx *ctx, const char *codename)
{
	h_problem(ctx, RT_ERR_DEVICE_NOT_FOUND, arena_printf(ctx->arena, "no device has the codename \"%s\"", codename),
		  NULL);
}

bool
h_cursor(struct handler_ctx *ctx)
{
	const char *cursor = ctx->params->value[PARAM_CURSOR];

	if (cursor == NULL ||
	    cursor_decode(ctx->arena, h_cursor_scope(ctx), cursor, ctx->after, ctx->match->route->keyset))
		return true;
	h_problem(ctx, RT_ERR_INVALID_CURSOR, "the cursor is malformed, altered, or was issued for other filters",
		  "cursor");
	return false;
}

void
h_last_modified(struct handler_ctx *ctx, const char *iso)
{
	struct tm tm = {0};
	char buf[64];
	time_t t;

	if (iso == NULL || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
				  &tm.tm_min, &tm.tm_sec) != 6)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	/* IMF-fixdate; strftime's %a and %b are English in the C locale the workers run in */
	strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	http_add_header(ctx->res, "Last-Modified", arena_strdup(ctx->arena, buf));
}

bool
h_device_exists(struct handler_ctx *ctx, const char *codename)
{
	PGresult *exists = h_query(ctx, DB_STMT_DEVICE_EXISTS, &(struct db_args){.codename = codename});

	if (exists == NULL)
		return false;
	if (PQntuples(exists) == 0) {
		h_device_not_found(ctx, codename);
		return false;
	}
	return true;
}

struct db_args
h_listing_args(struct handler_ctx *ctx, long rows)
{
	const char *const *v = ctx->params->value;

	return (struct db_args){
		.region = v[PARAM_REGION],
		.branch = v[PARAM_BRANCH],
		.type = v[PARAM_TYPE],
		.version = v[PARAM_VERSION],
		.android = v[PARAM_ANDROID],
		.family = v[PARAM_FAMILY],
		.since = v[PARAM_SINCE],
		.until = v[PARAM_UNTIL],
		.after_date = ctx->after[0],
		.after_version = ctx->after[1],
		.after_id = ctx->after[2],
		.limit = arena_printf(ctx->arena, "%ld", rows),
	};
}
