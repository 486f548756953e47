/* Releases of a device: filters, newest first, keyset pages on (date, version, id). */
#include "handlers.h"

#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "domain.h"
#include "queries.h"

/* Text column to JSON string, or null. */
static json_t *
rel_text(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

json_t *
h_release_json(const PGresult *res, int row)
{
	json_t *size = PQgetisnull(res, row, RELCOL_SIZE)
			       ? json_null()
			       : json_integer(strtoll(PQgetvalue(res, row, RELCOL_SIZE), NULL, 10));

	json_t *incremental = PQgetisnull(res, row, RELCOL_INC_FILENAME)
				      ? json_null()
				      : json_pack("{s:o, s:o, s:o, s:o}", "from", rel_text(res, row, RELCOL_INC_FROM),
						  "to", rel_text(res, row, RELCOL_INC_TO), "filename",
						  rel_text(res, row, RELCOL_INC_FILENAME), "url",
						  rel_text(res, row, RELCOL_INC_URL));

	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "id", (json_int_t)strtoll(PQgetvalue(res, row, RELCOL_ID), NULL, 10),
			 "codename", rel_text(res, row, RELCOL_DEVICE),
			 "variant", rel_text(res, row, RELCOL_VARIANT),
			 "region", rel_text(res, row, RELCOL_REGION),
			 "names", h_json_column(res, row, RELCOL_NAMES),
			 "version", rel_text(res, row, RELCOL_VERSION),
			 "branch", rel_text(res, row, RELCOL_BRANCH),
			 "type", rel_text(res, row, RELCOL_TYPE),
			 "android", rel_text(res, row, RELCOL_ANDROID),
			 "size", size,
			 "md5", rel_text(res, row, RELCOL_MD5),
			 "filename", rel_text(res, row, RELCOL_FILENAME),
			 "date", rel_text(res, row, RELCOL_DATE),
			 "changelog", rel_text(res, row, RELCOL_CHANGELOG),
			 "links", h_json_column(res, row, RELCOL_LINKS),
			 "incremental", incremental,
			 "warnings", h_json_column(res, row, RELCOL_WARNINGS));
}

/* Sends up to limit rows (the query asked for one more) as a page of releases, with the
 * next page's link from the last row's (date, version, id). */
static void
releases_page(struct handler_ctx *ctx, const PGresult *res, const char *scope)
{
	long limit = ctx->params->limit;
	int nrows = PQntuples(res);
	const char *next = NULL;
	json_t *data = json_array();

	if (nrows > limit) {
		int last = (int)limit - 1;
		const char *fields[3] = {PQgetvalue(res, last, RELCOL_SORT_DATE),
					 PQgetvalue(res, last, RELCOL_VERSION_SORT), PQgetvalue(res, last, RELCOL_ID)};

		next = h_next_url(ctx, cursor_encode(ctx->arena, scope, fields, 3));
		nrows = (int)limit;
	}
	for (int i = 0; i < nrows; i++)
		json_array_append_new(data, h_release_json(res, i));
	h_list(ctx, data, next);
}

void
h_device_releases(struct handler_ctx *ctx)
{
	const char *codename = h_codename(ctx);
	const char *const *v = ctx->params->value;
	const char *scope = h_cursor_scope(ctx);
	const char *key[3] = {NULL, NULL, NULL};
	long limit = ctx->params->limit;
	PGresult *res;

	if (codename == NULL || !h_cursor(ctx, scope, key, 3))
		return;
	res = h_query(ctx, DB_STMT_DEVICE_RELEASES,
		      (const char *const[]){codename, v[PARAM_REGION], v[PARAM_BRANCH], v[PARAM_TYPE],
					    v[PARAM_VERSION], v[PARAM_ANDROID], v[PARAM_SINCE],
					    v[PARAM_UNTIL], key[0], key[1], key[2],
					    arena_printf(ctx->arena, "%ld", limit + 1)});
	if (res == NULL)
		return;
	/* nothing found: an empty answer for a device, a 404 for a codename nobody has */
	if (PQntuples(res) == 0 && !h_device_exists(ctx, codename))
		return;
	releases_page(ctx, res, scope);
}

void
h_device_version(struct handler_ctx *ctx)
{
	const char *codename = h_codename(ctx), *branch = ctx->match->captures[1];
	const char *version = ctx->match->captures[2];
	PGresult *res;
	json_t *data;

	if (codename == NULL)
		return;
	if (dom_branch_parse(branch) == DOM_BRANCH__MAX) {
		h_problem(ctx, RT_ERR_INVALID_PARAMETER,
			  arena_printf(ctx->arena, "branch must be one of %s", dom_branch_list()), "branch");
		return;
	}
	if (!params_version_valid(version)) {
		h_problem(ctx, RT_ERR_INVALID_PARAMETER,
			  "version must be 1 to 64 letters, digits, '.', '_' or '-'", "version");
		return;
	}
	res = h_query(ctx, DB_STMT_DEVICE_VERSION, (const char *const[]){codename, branch, version});
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		if (h_device_exists(ctx, codename))
			h_problem(ctx, RT_ERR_RELEASE_NOT_FOUND,
				  arena_printf(ctx->arena, "%s has no %s release %s", codename, branch, version), NULL);
		return;
	}
	data = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(data, h_release_json(res, i));
	h_list(ctx, data, NULL);
}

void
h_releases(struct handler_ctx *ctx)
{
	const char *const *v = ctx->params->value;
	const char *scope = h_cursor_scope(ctx);
	const char *key[3] = {NULL, NULL, NULL};
	PGresult *res;

	if (!h_cursor(ctx, scope, key, 3))
		return;
	res = h_query(ctx, DB_STMT_RELEASES,
		      (const char *const[]){params_codename_array(ctx->params, ctx->arena), v[PARAM_REGION],
					    v[PARAM_BRANCH], v[PARAM_TYPE], v[PARAM_ANDROID], v[PARAM_FAMILY],
					    v[PARAM_SINCE], v[PARAM_UNTIL], key[0], key[1], key[2],
					    arena_printf(ctx->arena, "%ld", ctx->params->limit + 1)});
	if (res != NULL)
		releases_page(ctx, res, scope);
}

void
h_releases_latest(struct handler_ctx *ctx)
{
	const char *const *v = ctx->params->value;
	const char *scope = h_cursor_scope(ctx);
	const char *key[3] = {NULL, NULL, NULL}, *next = NULL;
	long limit = ctx->params->limit;
	json_t *data;
	PGresult *res;
	int nrows;

	if (!h_cursor(ctx, scope, key, 3))
		return;
	res = h_query(ctx, DB_STMT_RELEASES_LATEST,
		      (const char *const[]){NULL, v[PARAM_REGION], v[PARAM_BRANCH], v[PARAM_TYPE], key[0], key[1],
					    key[2], arena_printf(ctx->arena, "%ld", limit + 1)});
	if (res == NULL)
		return;
	nrows = PQntuples(res);
	if (nrows > limit) {
		/* pages go by (variant, branch, type), the key of "latest" */
		int last = (int)limit - 1;
		const char *fields[3] = {PQgetvalue(res, last, RELCOL_VARIANT), PQgetvalue(res, last, RELCOL_BRANCH),
					 PQgetvalue(res, last, RELCOL_TYPE)};

		next = h_next_url(ctx, cursor_encode(ctx->arena, scope, fields, 3));
		nrows = (int)limit;
	}
	data = json_array();
	for (int i = 0; i < nrows; i++)
		json_array_append_new(data, h_release_json(res, i));
	h_list(ctx, data, next);
}

/* One release, found by a statement with one parameter. */
static void
release_one(struct handler_ctx *ctx, enum db_stmt stmt, const char *key, const char *what)
{
	PGresult *res = h_query(ctx, stmt, (const char *const[]){key});

	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		h_problem(ctx, RT_ERR_RELEASE_NOT_FOUND,
			  arena_printf(ctx->arena, "no release has the %s \"%s\"", what, key), NULL);
		return;
	}
	h_last_modified(ctx, PQgetvalue(res, 0, RELCOL_MODIFIED));
	h_json(ctx, 200, h_release_json(res, 0));
}

void
h_release_get(struct handler_ctx *ctx)
{
	const char *id = ctx->match->captures[0];
	char *end;
	long long n = strtoll(id, &end, 10);

	if (id[0] < '1' || id[0] > '9' || *end != '\0' || strlen(id) > 18 || n <= 0) {
		h_problem(ctx, RT_ERR_INVALID_PARAMETER, "id must be a positive integer", "id");
		return;
	}
	release_one(ctx, DB_STMT_RELEASE_BY_ID, id, "id");
}

void
h_release_by_filename(struct handler_ctx *ctx)
{
	const char *filename = ctx->match->captures[0];

	if (strlen(filename) > 255 || strspn(filename, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						       "0123456789._-") != strlen(filename)) {
		h_problem(ctx, RT_ERR_INVALID_PARAMETER,
			  "filename must be 1 to 255 letters, digits, '.', '_' or '-'", "filename");
		return;
	}
	release_one(ctx, DB_STMT_RELEASE_BY_FILENAME, filename, "file name");
}

void
h_device_latest(struct handler_ctx *ctx)
{
	const char *codename = h_codename(ctx);
	const char *const *v = ctx->params->value;
	json_t *data;
	PGresult *res;

	if (codename == NULL)
		return;
	res = h_query(ctx, DB_STMT_DEVICE_LATEST,
		      (const char *const[]){codename, v[PARAM_REGION], v[PARAM_BRANCH], v[PARAM_TYPE]});
	if (res == NULL)
		return;
	/* nothing found: an empty answer for a device, a 404 for a codename nobody has */
	if (PQntuples(res) == 0 && !h_device_exists(ctx, codename))
		return;
	data = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(data, h_release_json(res, i));
	h_list(ctx, data, NULL);
}
