/* Writes through the import pipeline: POST /api/releases, POST /api/imports, PATCH /api/releases/{id}. */
#include "handlers.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "buf.h"
#include "http_semantics.h"
#include "imp_normalize.h"
#include "import.h"
#include "log.h"
#include "queries.h"

/* The members of a release a merge patch may set (issue 11: corrections), and the read-only ones with why. */
static const char *const writes__correctable[] = {"branch",    "md5",   "date",        "size", "links",
						  "changelog", "names", "incremental", NULL};
/* Of those, the ones a release always has: null (remove) is refused. */
static const char *const writes__required[] = {"branch", "links", "names", NULL};
static const struct {
	const char *name, *why;
} writes__fixed[] = {
	{"id", "romtrack numbers releases"},
	{"codename", "the device is part of what the release is (withdraw it and publish the right one)"},
	{"variant", "the variant follows from the names, the version and the file name"},
	{"region", "romtrack derives the region"},
	{"version", "the version is part of what the release is (withdraw it and publish the right one)"},
	{"type", "the type is part of what the release is (withdraw it and publish the right one)"},
	{"android", "the Android version follows from the version and the file name"},
	{"filename", "the file name is the release's key (withdraw it and publish the right one)"},
	{"warnings", "romtrack derives the warnings"},
};

static void
writes__json_free(void *p)
{
	json_decref(p);
}

static void
writes__free(void *p)
{
	free(p);
}

static bool
writes__listed(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* Sends a JSON document as the body (status 200 or 201). */
static void
writes__send_json(struct handler_ctx *ctx, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);

	json_decref(doc);
	if (text == NULL) {
		h_problem(ctx, RT_ERR_INTERNAL, NULL, NULL);
		return;
	}
	arena_cleanup_add(ctx->arena, writes__free, text);
	http_set_body(ctx->res, status, "application/json", text);
}

/* The answer to a run that failed: 422 every error of the input (each with a pointer: "" for a page or YAML
 * file, with its line), 400 where the input is not JSON at all, 503 when the database cannot be reached, else
 * 500 (the detail logged, never the body). */
static void
writes__run_failed(struct handler_ctx *ctx, const struct imp_errors *errs)
{
	PGconn *conn = db_conn(ctx->db);
	const struct imp_error *first = errs->n > 0 ? &errs->items[0] : NULL;

	if (errs->fault == IMP_FAULT_INPUT) {
		json_t *list = json_array(), *extra;

		/* a JSON body's errors at their pointers; a page's or a YAML file's (the first: its reader stops
		 * there) at the whole body, with its line and column as the problem's */
		extra = json_pack("{so}", "errors", list);
		for (size_t i = 0; i < errs->n; i++) {
			const struct imp_error *e = &errs->items[i];

			json_array_append_new(list, json_pack("{ssss}", "pointer", e->pointer ? e->pointer : "",
							      "detail", e->detail));
			if (e->pointer == NULL && e->line > 0 && json_object_get(extra, "line") == NULL) {
				json_object_set_new(extra, "line", json_integer((json_int_t)e->line));
				json_object_set_new(extra, "column", json_integer((json_int_t)e->column));
			}
		}
		http_problem_with(ctx->res, ctx->arena, RT_ERR_UNPROCESSABLE,
				  errs->n == 1
					  ? "the body breaks 1 rule (see errors)"
					  : arena_printf(ctx->arena, "the body breaks %zu rules (see errors)", errs->n),
				  extra);
		return;
	}
	if (errs->fault == IMP_FAULT_SYNTAX && first != NULL) {
		http_problem_with(ctx->res, ctx->arena, RT_ERR_BAD_REQUEST,
				  arena_printf(ctx->arena, "the body is not valid: %s (line %lu, column %lu)",
					       first->detail, first->line, first->column),
				  json_pack("{sIsI}", "line", (json_int_t)first->line, "column",
					    (json_int_t)first->column));
		return;
	}
	log_error("%s %s: the import failed: %s", ctx->req->method, ctx->match->route->pattern,
		  first != NULL ? first->detail : "(no detail)");
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		h_problem(ctx, RT_ERR_DB_UNAVAILABLE, "the database is not reachable, try again later", NULL);
	else
		h_problem(ctx, RT_ERR_INTERNAL, NULL, NULL);
}

/* Runs one body through the pipeline (who and how from the request). False after the answer to a failure. */
static bool
writes__run(struct handler_ctx *ctx, enum imp_format format, const char *data, size_t len, bool authoritative,
	    const char *via, struct imp_summary *sum, json_t **report)
{
	struct imp_input input = {.name = "body", .format = format, .data = data, .len = len};
	struct imp_options opt = {
		.authoritative = authoritative,
		.actor = ctx->actor,
		.via = via,
		.request_id = ctx->req->request_id != NULL ? ctx->req->request_id : "",
		.reason = "",
	};
	struct imp_errors errs = {0};
	bool ok;

	if (!db_ensure(ctx->db)) {
		h_problem(ctx, RT_ERR_DB_UNAVAILABLE, "the database is not reachable, try again later", NULL);
		return false;
	}
	ok = imp_run_inputs(db_conn(ctx->db), &input, 1, &opt, sum, &errs);
	if (!ok)
		writes__run_failed(ctx, &errs);
	else if (report != NULL)
		*report = imp_summary_json(sum, &opt);
	imp_errors_free(&errs);
	return ok;
}

/* Takes the writers' lock (DB_STMT_WRITE_LOCK); false after a problem. */
static bool
writes__lock(struct handler_ctx *ctx)
{
	return h_query(ctx, DB_STMT_WRITE_LOCK, NULL) != NULL;
}

static void
writes__unlock(struct handler_ctx *ctx)
{
	PGresult *res = NULL;

	/* a lost connection took the lock with it */
	if (db_exec(ctx->db, DB_STMT_WRITE_UNLOCK, NULL, &res) == RT_OK)
		PQclear(res);
}

/* ---- POST /api/releases ------------------------------------------------------------------------------------ */

/* A {"data": [...]} list's items, or the one release. */
static json_t *
writes__releases_of(json_t *doc)
{
	json_t *list = json_is_object(doc) ? json_object_get(doc, "data") : NULL;

	return json_is_array(list) ? json_incref(list) : json_pack("[O]", doc);
}

/* The file name a release of the body is stored under: its filename, else its first link's (NULL: none, the
 * reader says why). */
static const char *
writes__filename_of(struct arena *a, json_t *release)
{
	json_t *f = json_object_get(release, "filename"), *links = json_object_get(release, "links");
	char name[256];

	if (json_is_string(f))
		return json_string_value(f);
	if (json_is_string(json_array_get(links, 0)) &&
	    imp_filename_from_link(json_string_value(json_array_get(links, 0)), name, sizeof name))
		return arena_strdup(a, name);
	return NULL;
}

/* {"a","b"}: a text[] literal of the body's file names; NULL when it names none. */
static const char *
writes__filenames_array(struct handler_ctx *ctx, json_t *releases)
{
	struct buf b = {0};
	const char *out;
	size_t i;
	json_t *r;

	buf_puts(&b, "{");
	json_array_foreach(releases, i, r)
	{
		const char *name = writes__filename_of(ctx->arena, r);

		if (name == NULL)
			continue;
		if (b.len > 1)
			buf_puts(&b, ",");
		buf_puts(&b, "\"");
		for (const char *p = name; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_put(&b, "\\", 1);
			buf_put(&b, p, 1);
		}
		buf_puts(&b, "\"");
	}
	buf_puts(&b, "}");
	out = b.len > 2 ? arena_strdup(ctx->arena, b.data) : NULL;
	buf_free(&b);
	return out;
}

/* 409 when the body names a withdrawn release: publishing it again would not bring it back. False after the
 * answer. */
static bool
writes__none_withdrawn(struct handler_ctx *ctx, json_t *releases)
{
	const char *filenames = writes__filenames_array(ctx, releases);
	PGresult *res;

	if (filenames == NULL)
		return true;
	res = h_query(ctx, DB_STMT_WITHDRAWN_FILENAMES, &(struct db_args){.filenames = filenames});
	if (res == NULL)
		return false;
	if (PQntuples(res) == 0)
		return true;
	{
		/* every one of them, for a client that fixes its batch in one go */
		const char *list = "";

		for (int i = 0; i < PQntuples(res); i++)
			list = arena_printf(ctx->arena, "%s%s%s was withdrawn on %s", list, i > 0 ? "; " : "",
					    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		h_problem(ctx, RT_ERR_CONFLICT,
			  arena_printf(ctx->arena, "%s: restore %s first (POST /api/releases/{id}/restore)", list,
				       PQntuples(res) > 1 ? "them" : "it"),
			  NULL);
	}
	return false;
}

/* If-Match on a body of one release: the ETag of the release stored under its file name (none: only "*" fails,
 * RFC 9110, 13.1.1). False after the 412. */
static bool
writes__post_if_match(struct handler_ctx *ctx, json_t *doc)
{
	const char *filename, *etag = NULL;
	PGresult *res;

	if (ctx->req->if_match == NULL)
		return true;
	if (!json_is_object(doc) || json_object_get(doc, "data") != NULL ||
	    (filename = writes__filename_of(ctx->arena, doc)) == NULL) {
		h_problem(ctx, RT_ERR_PRECONDITION_FAILED, "If-Match applies to a body of one release with a file name",
			  NULL);
		return false;
	}
	res = h_query(ctx, DB_STMT_RELEASE_BY_FILENAME, &(struct db_args){.filename = filename});
	if (res == NULL)
		return false;
	if (PQntuples(res) > 0 && PQgetisnull(res, 0, WDCOL_AT)) {
		etag = h_release_etag(ctx, res, 0);
	}
	return body_if_match(ctx->req, ctx->res, etag);
}

void
h_releases_post(struct handler_ctx *ctx)
{
	json_t *releases = writes__releases_of(ctx->req->body_json), *report = NULL;
	struct imp_summary sum = {0}; /* freed on every path: a failed run may have filled part of it */
	bool ok;

	arena_cleanup_add(ctx->arena, writes__json_free, releases);
	if (!writes__lock(ctx))
		return;
	ok = writes__post_if_match(ctx, ctx->req->body_json) && writes__none_withdrawn(ctx, releases) &&
	     /* the bytes as sent: the reader that checks them is the CLI's, and its pointers are the body's */
	     writes__run(ctx, IMP_FORMAT_JSON, ctx->req->body, ctx->req->body_len, false, "POST /api/releases", &sum,
			 &report);
	writes__unlock(ctx);
	if (!ok) {
		imp_summary_free(&sum);
		return;
	}
	if (sum.releases == 1 && sum.inserted == 1 && sum.ninserted == 1) {
		const char *id = arena_printf(ctx->arena, "%lld", sum.inserted_list[0].id);

		json_decref(report);
		h_release_send(ctx, 201, id);
		if (ctx->res->status == 201)
			http_add_header(ctx->res, "Location", arena_printf(ctx->arena, "/api/releases/%s", id));
	} else {
		writes__send_json(ctx, 200, report);
	}
	imp_summary_free(&sum);
}

/* ---- POST /api/imports --------------------------------------------------------------------------------------- */

void
h_imports_post(struct handler_ctx *ctx)
{
	enum imp_format format;
	struct imp_summary sum = {0}; /* freed on every path: a failed run may have filled part of it */
	json_t *report = NULL;
	bool ok;

	if (!imp_format_from_media_type(ctx->req->body_type, &format)) { /* the row lists only types it reads */
		h_problem(ctx, RT_ERR_INTERNAL, "a body type without a reader", NULL);
		return;
	}
	if (!writes__lock(ctx))
		return;
	ok = writes__run(ctx, format, ctx->req->body, ctx->req->body_len, false, "POST /api/imports", &sum, &report);
	writes__unlock(ctx);
	imp_summary_free(&sum);
	if (ok)
		writes__send_json(ctx, 200, report);
}

/* ---- PATCH /api/releases/{id} -------------------------------------------------------------------------------- */

/* RFC 7396 MergePatch(target, patch) of an object: members of patch set (objects merged recursively), null ones
 * removed. Target is changed in place. */
static void
writes__merge(json_t *target, json_t *patch)
{
	const char *key;
	json_t *value;

	json_object_foreach(patch, key, value)
	{
		if (json_is_null(value)) {
			json_object_del(target, key);
		} else if (json_is_object(value)) {
			json_t *t = json_object_get(target, key);

			if (!json_is_object(t)) {
				t = json_object();
				json_object_set_new(target, key, t);
			}
			writes__merge(t, value);
		} else {
			json_object_set(target, key, value);
		}
	}
}

/* Checks the patch's members (422 for every one it may not have) and applies it to doc, the release as GET
 * returns it. A removed member that a release may lack is sent as null: the pipeline keeps what an input does
 * not give, and a correction to "unknown" must reach it. False after the 422. */
static bool
writes__apply_patch(struct handler_ctx *ctx, json_t *doc, json_t *patch)
{
	struct body_errors *errs = body_errors_new(ctx->arena);
	const char *key;
	json_t *value;

	if (!json_is_object(patch)) {
		body_error(errs, "", "a merge patch of a release is an object of the members to change");
		body_errors_send(errs, ctx->res);
		return false;
	}
	json_object_foreach(patch, key, value)
	{
		const char *pointer = body_pointer(ctx->arena, "", key);
		size_t f = 0;

		if (writes__listed(writes__correctable, key)) {
			if (json_is_null(value) && writes__listed(writes__required, key))
				body_error(errs, pointer, "cannot be removed: a release always has its %s", key);
			continue;
		}
		while (f < sizeof writes__fixed / sizeof writes__fixed[0] && strcmp(writes__fixed[f].name, key) != 0)
			f++;
		if (f < sizeof writes__fixed / sizeof writes__fixed[0])
			body_error(errs, pointer, "cannot be changed: %s", writes__fixed[f].why);
		else
			body_error(errs, pointer, "is not a member of a release");
	}
	if (body_error_count(errs) > 0) {
		body_errors_send(errs, ctx->res);
		return false;
	}
	json_object_foreach(patch, key, value)
	{
		json_t *inc = json_object_get(doc, "incremental");

		if (strcmp(key, "incremental") == 0 && json_is_object(value) && json_is_object(inc) &&
		    json_object_get(value, "url") != NULL) {
			/* a new URL: what romtrack derives from it goes with the old one */
			static const char *const derived[] = {"filename", "from", "to"};

			for (size_t i = 0; i < 3; i++)
				if (json_object_get(value, derived[i]) == NULL)
					json_object_del(inc, derived[i]);
		}
	}
	writes__merge(doc, patch);
	json_object_foreach(patch, key, value) if (json_is_null(value)) json_object_set_new(doc, key, json_null());
	/* what the JSON reader refuses: romtrack derives it */
	json_object_del(doc, "id");
	json_object_del(doc, "region");
	json_object_del(doc, "warnings");
	return true;
}

void
h_release_patch(struct handler_ctx *ctx)
{
	const char *id = arena_printf(ctx->arena, "%lld", ctx->path->id), *text;
	struct imp_summary sum = {0}; /* freed on every path: a failed run may have filled part of it */
	json_t *doc;
	char *merged;
	PGresult *res;
	bool ok;

	if (!writes__lock(ctx))
		return;
	res = h_query(ctx, DB_STMT_RELEASE_BY_ID, &(struct db_args){.id = id});
	if (res == NULL)
		goto unlock;
	if (PQntuples(res) == 0) {
		h_release_not_found(ctx, arena_printf(ctx->arena, "id \"%s\"", id));
		goto unlock;
	}
	if (!PQgetisnull(res, 0, WDCOL_AT)) {
		h_release_gone(ctx, res, arena_printf(ctx->arena, "with the id \"%s\"", id),
			       arena_printf(ctx->arena, ": restore it first (POST /api/releases/%s/restore)", id));
		goto unlock;
	}
	/* the representation GET sends, so that the ETag it gave holds here */
	text = h_release_text(ctx, res, 0);
	if (!body_if_match(ctx->req, ctx->res, http_etag(ctx->arena, text, strlen(text))))
		goto unlock;
	doc = json_loads(text, 0, NULL);
	if (doc == NULL) {
		h_problem(ctx, RT_ERR_INTERNAL, "the stored release is not JSON", NULL);
		goto unlock;
	}
	arena_cleanup_add(ctx->arena, writes__json_free, doc);
	if (!writes__apply_patch(ctx, doc, ctx->req->body_json))
		goto unlock;
	merged = json_dumps(doc, JSON_COMPACT);
	if (merged == NULL) {
		h_problem(ctx, RT_ERR_INTERNAL, NULL, NULL);
		goto unlock;
	}
	arena_cleanup_add(ctx->arena, writes__free, merged);
	ok = writes__run(ctx, IMP_FORMAT_JSON, merged, strlen(merged), true, "PATCH /api/releases/{id}", &sum, NULL);
	writes__unlock(ctx);
	imp_summary_free(&sum);
	if (ok)
		h_release_send(ctx, 200, id);
	return;
unlock:
	writes__unlock(ctx);
}
