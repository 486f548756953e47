/* Releases of a device: filters, newest first, keyset pages on (date, version, id). */
#include "handlers.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "domain.h"
#include "queries.h"

/* A member of a document written from one column of a release row. */
struct release__member {
	const char *key;
	enum { MEMBER_TEXT, MEMBER_INTEGER, MEMBER_JSON, MEMBER_INCREMENTAL } kind;
	int col;
};

/* The Incremental object and the Release object, members in the contract's order. */
static const struct release__member release__incremental[] = {
	{"from", MEMBER_TEXT, RELCOL_INC_FROM},
	{"to", MEMBER_TEXT, RELCOL_INC_TO},
	{"filename", MEMBER_TEXT, RELCOL_INC_FILENAME},
	{"url", MEMBER_TEXT, RELCOL_INC_URL},
};
static const struct release__member release__release[] = {
	{"id", MEMBER_INTEGER, RELCOL_ID},          {"codename", MEMBER_TEXT, RELCOL_DEVICE},
	{"variant", MEMBER_TEXT, RELCOL_VARIANT},   {"region", MEMBER_TEXT, RELCOL_REGION},
	{"names", MEMBER_JSON, RELCOL_NAMES},       {"version", MEMBER_TEXT, RELCOL_VERSION},
	{"branch", MEMBER_TEXT, RELCOL_BRANCH},     {"type", MEMBER_TEXT, RELCOL_TYPE},
	{"android", MEMBER_TEXT, RELCOL_ANDROID},   {"size", MEMBER_INTEGER, RELCOL_SIZE},
	{"md5", MEMBER_TEXT, RELCOL_MD5},           {"filename", MEMBER_TEXT, RELCOL_FILENAME},
	{"date", MEMBER_TEXT, RELCOL_DATE},         {"changelog", MEMBER_TEXT, RELCOL_CHANGELOG},
	{"links", MEMBER_JSON, RELCOL_LINKS},       {"incremental", MEMBER_INCREMENTAL, RELCOL_INC_FILENAME},
	{"warnings", MEMBER_JSON, RELCOL_WARNINGS},
};

static void
release__object_write(struct jw *w, const PGresult *res, int row, const struct release__member *members, size_t n)
{
	jw_object_begin(w);
	for (size_t i = 0; i < n; i++) {
		const struct release__member *m = &members[i];

		jw_key(w, m->key);
		if (m->kind == MEMBER_INCREMENTAL)
			h_incremental_write(w, res, row);
		else if (m->kind == MEMBER_JSON)
			h_json_column_write(w, res, row, m->col);
		else if (PQgetisnull(res, row, m->col))
			jw_null(w);
		else if (m->kind == MEMBER_INTEGER)
			jw_int(w, strtoll(PQgetvalue(res, row, m->col), NULL, 10));
		else
			jw_string(w, PQgetvalue(res, row, m->col));
	}
	jw_object_end(w);
}

void
h_incremental_write(struct jw *w, const PGresult *res, int row)
{
	if (PQgetisnull(res, row, RELCOL_INC_FILENAME))
		jw_null(w);
	else
		release__object_write(w, res, row, release__incremental,
				      sizeof release__incremental / sizeof release__incremental[0]);
}

void
h_release_write(struct jw *w, const PGresult *res, int row)
{
	release__object_write(w, res, row, release__release, sizeof release__release / sizeof release__release[0]);
}

/* Whether any of the n filter parameters is set: then the statement with filters runs,
 * else the one without (see DB_STMT_DEVICE_RELEASES_UNFILTERED). */
static bool
releases_filtered(const char *const *values, const enum param_id *filters, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (values[filters[i]] != NULL)
			return true;
	return false;
}

/* Sends the first nrows rows as a list of releases. */
static void
releases_list(struct handler_ctx *ctx, const PGresult *res, int nrows, const char *next)
{
	struct jw *w = h_list_begin(ctx);

	for (int i = 0; i < nrows; i++)
		h_release_write(w, res, i);
	h_list_end(ctx, w, next);
}

/* Sends up to limit rows (the query asked for one more) as a page of releases, with the
 * next page's link from the last row's key columns. */
static void
releases_page(struct handler_ctx *ctx, const PGresult *res, const int key_cols[3])
{
	long limit = ctx->params->limit;
	int nrows = PQntuples(res);
	const char *next = NULL;

	if (nrows > limit) {
		int last = (int)limit - 1;
		const char *fields[3] = {PQgetvalue(res, last, key_cols[0]), PQgetvalue(res, last, key_cols[1]),
					 PQgetvalue(res, last, key_cols[2])};

		next = h_next_url(ctx, cursor_encode(ctx->arena, h_cursor_scope(ctx), fields, 3));
		nrows = (int)limit;
	}
	releases_list(ctx, res, nrows, next);
}

/* Keyset of release listings: (date, version, id), the order of the listing's index. */
static const int releases__by_date[3] = {RELCOL_SORT_DATE, RELCOL_VERSION_SORT, RELCOL_ID};

void
h_device_releases(struct handler_ctx *ctx)
{
	const char *codename = ctx->path->codename;
	const char *const *v = ctx->params->value;
	struct db_args args = h_listing_args(ctx, ctx->params->limit + 1);
	PGresult *res;

	args.codename = codename;

	if (releases_filtered(v,
			      (const enum param_id[]){PARAM_REGION, PARAM_BRANCH, PARAM_TYPE, PARAM_VERSION,
						      PARAM_ANDROID, PARAM_SINCE, PARAM_UNTIL},
			      7))
		res = h_query(ctx, DB_STMT_DEVICE_RELEASES, &args);
	else
		res = h_query(ctx, DB_STMT_DEVICE_RELEASES_UNFILTERED, &args);
	if (res == NULL)
		return;
	/* nothing found: an empty answer for a device, a 404 for a codename nobody has */
	if (PQntuples(res) == 0 && !h_device_exists(ctx, codename))
		return;
	releases_page(ctx, res, releases__by_date);
}

void
h_device_version(struct handler_ctx *ctx)
{
	const char *codename = ctx->path->codename, *branch = dom_branch_name(ctx->path->branch);
	const char *version = ctx->path->version;
	PGresult *res;

	res = h_query(ctx, DB_STMT_DEVICE_VERSION,
		      &(struct db_args){.codename = codename, .branch = branch, .version = version});
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		if (h_device_exists(ctx, codename))
			h_problem(ctx, RT_ERR_RELEASE_NOT_FOUND,
				  arena_printf(ctx->arena, "%s has no %s release %s", codename, branch, version), NULL);
		return;
	}
	releases_list(ctx, res, PQntuples(res), NULL);
}

void
h_releases(struct handler_ctx *ctx)
{
	const char *const *v = ctx->params->value;
	struct db_args args = h_listing_args(ctx, ctx->params->limit + 1);
	PGresult *res;

	args.codenames = params_codename_array(ctx->params, ctx->arena);

	if (args.codenames != NULL ||
	    releases_filtered(v,
			      (const enum param_id[]){PARAM_REGION, PARAM_BRANCH, PARAM_TYPE, PARAM_ANDROID,
						      PARAM_FAMILY, PARAM_SINCE, PARAM_UNTIL},
			      7))
		res = h_query(ctx, DB_STMT_RELEASES, &args);
	else
		res = h_query(ctx, DB_STMT_RELEASES_UNFILTERED, &args);
	if (res != NULL)
		releases_page(ctx, res, releases__by_date);
}

void
h_releases_latest(struct handler_ctx *ctx)
{
	const char *const *v = ctx->params->value;
	PGresult *res;

	res = h_query(ctx, DB_STMT_RELEASES_LATEST,
		      &(struct db_args){.region = v[PARAM_REGION],
					.branch = v[PARAM_BRANCH],
					.type = v[PARAM_TYPE],
					.after_codename = ctx->after[0],
					.after_branch = ctx->after[1],
					.after_type = ctx->after[2],
					.limit = arena_printf(ctx->arena, "%ld", ctx->params->limit + 1)});
	if (res == NULL)
		return;
	/* pages go by (variant, branch, type), the key of "latest" */
	releases_page(ctx, res, (const int[3]){RELCOL_VARIANT, RELCOL_BRANCH, RELCOL_TYPE});
}

/* One release, found by a statement of one key (its value, what it is: for the 404 and the 410). */
static void
release_one(struct handler_ctx *ctx, enum db_stmt stmt, const struct db_args *args, const char *key, const char *what)
{
	PGresult *res = h_query(ctx, stmt, args);
	struct jw *w;

	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		h_release_not_found(ctx, arena_printf(ctx->arena, "%s \"%s\"", what, key));
		return;
	}
	if (!PQgetisnull(res, 0, WDCOL_AT)) {
		h_release_gone(ctx, res, arena_printf(ctx->arena, "with the %s \"%s\"", what, key), "");
		return;
	}
	h_last_modified(ctx, PQgetvalue(res, 0, RELCOL_MODIFIED));
	w = jw_new(ctx->arena);
	h_release_write(w, res, 0);
	h_send(ctx, w);
}

void
h_release_get(struct handler_ctx *ctx)
{
	const char *id = arena_printf(ctx->arena, "%lld", ctx->path->id);

	release_one(ctx, DB_STMT_RELEASE_BY_ID, &(struct db_args){.id = id}, id, "id");
}

void
h_release_by_filename(struct handler_ctx *ctx)
{
	const char *filename = ctx->path->filename;

	release_one(ctx, DB_STMT_RELEASE_BY_FILENAME, &(struct db_args){.filename = filename}, filename, "file name");
}

void
h_device_latest(struct handler_ctx *ctx)
{
	const char *codename = ctx->path->codename;
	const char *const *v = ctx->params->value;
	PGresult *res;

	res = h_query(ctx, DB_STMT_DEVICE_LATEST,
		      &(struct db_args){.codename = codename,
					.region = v[PARAM_REGION],
					.branch = v[PARAM_BRANCH],
					.type = v[PARAM_TYPE]});
	if (res == NULL)
		return;
	/* nothing found: an empty answer for a device, a 404 for a codename nobody has */
	if (PQntuples(res) == 0 && !h_device_exists(ctx, codename))
		return;
	releases_list(ctx, res, PQntuples(res), NULL);
}
