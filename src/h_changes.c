/* The change log read two ways: the public change feed (after=SEQ, commit order) and the audit trail. */
#include "handlers.h"

#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "queries.h"

static long h__poll_interval = H_POLL_INTERVAL_DEFAULT;

void
h_changes_configure(long poll_interval)
{
	h__poll_interval = poll_interval;
}

static void
h__text_or_null(struct jw *w, const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		jw_null(w);
	else
		jw_string(w, PQgetvalue(res, row, col));
}

/* What is left of a release that no read returns (withdrawn, or deleted by hand): who and why. */
static void
h__tombstone_write(struct jw *w, const PGresult *res, int row)
{
	jw_object_begin(w);
	jw_key(w, "id");
	jw_int(w, strtoll(PQgetvalue(res, row, CHGCOL_RELEASE_ID), NULL, 10));
	jw_key(w, "filename");
	h__text_or_null(w, res, row, CHGCOL_FILENAME);
	jw_key(w, "withdrawn_at");
	h__text_or_null(w, res, row, CHGCOL_WITHDRAWN_AT);
	jw_key(w, "withdrawn_by");
	h__text_or_null(w, res, row, CHGCOL_WITHDRAWN_BY);
	jw_key(w, "reason");
	h__text_or_null(w, res, row, CHGCOL_REASON);
	jw_object_end(w);
}

void
h_change_entry_write(struct jw *w, const PGresult *res, int row)
{
	jw_object_begin(w);
	jw_key(w, "seq");
	jw_int(w, strtoll(PQgetvalue(res, row, CHGCOL_SEQ), NULL, 10));
	jw_key(w, "kind");
	jw_string(w, PQgetvalue(res, row, CHGCOL_KIND));
	jw_key(w, "at");
	jw_string(w, PQgetvalue(res, row, CHGCOL_AT));
	jw_key(w, "actor");
	jw_string(w, PQgetvalue(res, row, CHGCOL_ACTOR));
	jw_key(w, "via");
	jw_string(w, PQgetvalue(res, row, CHGCOL_VIA));
	jw_key(w, "fields");
	h_json_column_write(w, res, row, CHGCOL_FIELDS);
	jw_key(w, "release");
	if (strcmp(PQgetvalue(res, row, CHGCOL_GONE), "t") == 0)
		h__tombstone_write(w, res, row);
	else
		h_release_write(w, res, row);
	jw_object_end(w);
}

void
h_changes(struct handler_ctx *ctx)
{
	const char *const *v = ctx->params->value;
	const char *after = v[PARAM_AFTER] != NULL ? v[PARAM_AFTER] : "0", *filters, *next;
	struct db_args args = h_listing_args(ctx, ctx->params->limit);
	PGresult *res;
	struct jw *w;
	int n;

	args.after_date = args.after_version = args.after_id = NULL;
	args.codenames = params_codename_array(ctx->params, ctx->arena);
	args.after_seq = after;
	res = h_query(ctx, DB_STMT_CHANGES, &args);
	if (res == NULL)
		return;
	n = PQntuples(res);
	w = h_list_begin(ctx);
	for (int i = 0; i < n; i++)
		h_change_entry_write(w, res, i);
	if (n > 0)
		after = PQgetvalue(res, n - 1, CHGCOL_SEQ);
	/* always a next link, also after an empty page: a poller keeps asking it, and at the head that
	 * is one URL for every poller, answered from the cache until the data changes */
	filters = params_filter_query(ctx->params, ctx->arena);
	next = arena_printf(ctx->arena, "%s?%s%safter=%s", ctx->match->canonical_path, filters, filters[0] ? "&" : "",
			    after);
	if (ctx->params->limit != PARAM_LIMIT_DEFAULT)
		next = arena_printf(ctx->arena, "%s&limit=%ld", next, ctx->params->limit);
	http_add_header(ctx->res, "X-Poll-Interval", arena_printf(ctx->arena, "%ld", h__poll_interval));
	h_list_end(ctx, w, next);
}

void
h_audit(struct handler_ctx *ctx)
{
	const char *const *v = ctx->params->value;
	long limit = ctx->params->limit;
	PGresult *res;
	const char *next = NULL;
	struct jw *w;
	int n;

	res = h_query(ctx, DB_STMT_AUDIT,
		      &(struct db_args){.after_seq = ctx->after[0],
					.actor = v[PARAM_ACTOR],
					.release_id = v[PARAM_RELEASE],
					.since = v[PARAM_SINCE],
					.limit = arena_printf(ctx->arena, "%ld", limit + 1)});
	if (res == NULL)
		return;
	n = PQntuples(res);
	if (n > limit) {
		const char *fields[1] = {PQgetvalue(res, (int)limit - 1, AUDCOL_SEQ)};

		next = h_next_url(ctx, cursor_encode(ctx->arena, h_cursor_scope(ctx), fields, 1));
		n = (int)limit;
	}
	w = h_list_begin(ctx);
	for (int i = 0; i < n; i++)
		h_audit_entry_write(w, res, i);
	h_list_end(ctx, w, next);
}

void
h_audit_entry_write(struct jw *w, const PGresult *res, int row)
{
	static const struct {
		const char *key;
		int col;
	} text[] = {
		{"at", AUDCOL_AT},           {"actor", AUDCOL_ACTOR},
		{"via", AUDCOL_VIA},         {"request_id", AUDCOL_REQUEST_ID},
		{"reason", AUDCOL_REASON},   {"kind", AUDCOL_KIND},
		{"subject", AUDCOL_SUBJECT},
	};

	jw_object_begin(w);
	jw_key(w, "seq");
	jw_int(w, strtoll(PQgetvalue(res, row, AUDCOL_SEQ), NULL, 10));
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		jw_key(w, text[i].key);
		h__text_or_null(w, res, row, text[i].col);
	}
	jw_key(w, "release_id");
	if (PQgetisnull(res, row, AUDCOL_RELEASE_ID))
		jw_null(w);
	else
		jw_int(w, strtoll(PQgetvalue(res, row, AUDCOL_RELEASE_ID), NULL, 10));
	jw_key(w, "filename");
	h__text_or_null(w, res, row, AUDCOL_FILENAME);
	jw_key(w, "variant");
	h__text_or_null(w, res, row, AUDCOL_VARIANT);
	jw_key(w, "fields");
	h_json_column_write(w, res, row, AUDCOL_FIELDS);
	jw_object_end(w);
}
