/* The state writes: withdrawing and restoring a release, declaring a device's variant. Each write is one
 * statement calling a function of sql/013_writes.sql, which names the writer for the change log. */
#include "handlers.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "domain.h"
#include "http_semantics.h"
#include "queries.h"
#include "utf8.h"

#define STATE__REASON_MAX 500 /* characters of a withdrawal's reason */
#define STATE__NAME_MAX 200   /* characters of a display name (display_name's CHECK) */
#define STATE__NAMES_MAX 100  /* display names of one variant */

/* What the change log stores as the request id: nginx gives every request one. */
static const char *
state__request_id(const struct handler_ctx *ctx)
{
	return ctx->req->request_id != NULL ? ctx->req->request_id : "";
}

/* "with the id "5"": what the 404 and the 410 name. */
static const char *
state__with_id(struct handler_ctx *ctx, const char *id)
{
	return arena_printf(ctx->arena, "with the id \"%s\"", id);
}

/* The optional body of a withdrawal, {"reason": "..."}: false after a 422. */
static bool
state__reason(struct handler_ctx *ctx, const char **reason)
{
	static const char *const known[] = {"reason", NULL};
	json_t *body = ctx->req->body_json;
	struct body_errors *e;

	*reason = NULL;
	if (body == NULL) /* no body: no reason */
		return true;
	e = body_errors_new(ctx->arena);
	if (!json_is_object(body)) {
		body_error(e, "", "the body must be an object, {\"reason\": \"...\"}");
	} else {
		json_t *r = json_object_get(body, "reason");

		body_unknown_members(e, "", body, known);
		if (r != NULL && !json_is_null(r)) {
			if (!json_is_string(r))
				body_error(e, "/reason", "must be a string or null");
			else if (json_string_length(r) == 0 || utf8_chars(json_string_value(r)) > STATE__REASON_MAX)
				body_error(e, "/reason", "must be 1 to %d characters", STATE__REASON_MAX);
			else if (utf8_has_control(json_string_value(r)))
				body_error(e, "/reason", "must not contain control characters");
			else
				*reason = json_string_value(r);
		}
	}
	if (body_error_count(e) == 0)
		return true;
	body_errors_send(e, ctx->res);
	return false;
}

void
h_release_withdraw(struct handler_ctx *ctx)
{
	const char *id = arena_printf(ctx->arena, "%lld", ctx->path->id), *reason, *modified = NULL, *outcome;
	PGresult *res = h_query(ctx, DB_STMT_RELEASE_BY_ID, &(struct db_args){.id = id});

	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		h_release_not_found(ctx, arena_printf(ctx->arena, "id \"%s\"", id));
		return;
	}
	if (!PQgetisnull(res, 0, WDCOL_AT)) {
		h_release_gone(ctx, res, state__with_id(ctx, id), "");
		return;
	}
	/* the precondition is checked on the representation GET gave; the write then holds it under the row's
	 * lock through modified_at, which moves at each change of the release */
	if (ctx->req->if_match != NULL) {
		if (!body_if_match(ctx->req, ctx->res, h_release_etag(ctx, res, 0)))
			return;
		modified = PQgetvalue(res, 0, RELCOL_MODIFIED);
	}
	if (!state__reason(ctx, &reason))
		return;
	res = h_query(ctx, DB_STMT_RELEASE_WITHDRAW,
		      &(struct db_args){.id = id,
					.actor = ctx->actor,
					.request_id = state__request_id(ctx),
					.reason = reason,
					.if_modified = modified});
	if (res == NULL)
		return;
	outcome = PQgetvalue(res, 0, 0);
	if (strcmp(outcome, "withdrawn") == 0) {
		ctx->res->status = 204;
	} else if (strcmp(outcome, "changed") == 0) {
		h_problem(ctx, RT_ERR_PRECONDITION_FAILED,
			  arena_printf(ctx->arena, "the release with the id \"%s\" changed since If-Match was checked",
				       id),
			  NULL);
	} else if (strcmp(outcome, "gone") == 0) { /* withdrawn by another writer in between */
		res = h_query(ctx, DB_STMT_RELEASE_BY_ID, &(struct db_args){.id = id});
		if (res != NULL && PQntuples(res) == 1 && !PQgetisnull(res, 0, WDCOL_AT))
			h_release_gone(ctx, res, state__with_id(ctx, id), "");
		else if (res != NULL)
			h_problem(ctx, RT_ERR_CONFLICT, "the release changed during the request, try again", NULL);
	} else {
		h_release_not_found(ctx, arena_printf(ctx->arena, "id \"%s\"", id));
	}
}

void
h_release_restore(struct handler_ctx *ctx)
{
	const char *id = arena_printf(ctx->arena, "%lld", ctx->path->id), *outcome;
	PGresult *res = h_query(ctx, DB_STMT_RELEASE_RESTORE,
				&(struct db_args){.id = id, .actor = ctx->actor, .request_id = state__request_id(ctx)});

	if (res == NULL)
		return;
	outcome = PQgetvalue(res, 0, 0);
	if (strcmp(outcome, "restored") == 0)
		h_release_send(ctx, 200, id);
	else if (strcmp(outcome, "not-withdrawn") == 0)
		h_problem(ctx, RT_ERR_CONFLICT,
			  arena_printf(ctx->arena,
				       "the release with the id \"%s\" is not withdrawn: nothing to restore", id),
			  NULL);
	else
		h_release_not_found(ctx, arena_printf(ctx->arena, "id \"%s\"", id));
}

/* Whether s is a MIUI name as file names carry it ("ALIOTHGlobal"): 1 to 64 of [A-Za-z0-9_]. */
static bool
state__miui_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* A variant's body: every broken rule into e; the region, the MIUI name (NULL: none) and the names. */
static void
state__variant_body(struct handler_ctx *ctx, struct body_errors *e, const char **region, const char **miui_name,
		    json_t **names)
{
	static const char *const known[] = {"region", "miui_name", "names", NULL};
	json_t *body = ctx->req->body_json, *v;
	size_t i;

	if (!json_is_object(body)) {
		body_error(e, "", "the body must be an object with region, miui_name and names");
		return;
	}
	body_unknown_members(e, "", body, known);
	v = json_object_get(body, "region");
	if (v == NULL)
		body_error(e, "/region", "is required: one of %s", dom_region_list());
	else if (!json_is_string(v) || dom_region_parse(json_string_value(v)) == DOM_REGION__MAX)
		body_error(e, "/region", "must be one of %s", dom_region_list());
	else
		*region = json_string_value(v);
	v = json_object_get(body, "miui_name");
	if (v != NULL && !json_is_null(v)) {
		if (json_is_string(v) && state__miui_name_valid(json_string_value(v)))
			*miui_name = json_string_value(v);
		else
			body_error(e, "/miui_name",
				   "must be null or the MIUI name of the file names, 1 to 64 letters, digits or '_' "
				   "(such as ALIOTHGlobal)");
	}
	v = json_object_get(body, "names");
	if (v == NULL || !json_is_array(v)) {
		body_error(e, "/names", "%s an array of display names (such as [\"POCO F3 Global\"])",
			   v == NULL ? "is required:" : "must be");
		return;
	}
	if (json_array_size(v) > STATE__NAMES_MAX)
		body_error(e, "/names", "must have at most %d names", STATE__NAMES_MAX);
	for (i = 0; i < json_array_size(v); i++) {
		json_t *n = json_array_get(v, i);
		const char *pointer = body_pointer_index(ctx->arena, "/names", i);

		if (!json_is_string(n)) {
			body_error(e, pointer, "must be a string");
			continue;
		}
		if (json_string_length(n) == 0 || utf8_chars(json_string_value(n)) > STATE__NAME_MAX)
			body_error(e, pointer, "must be 1 to %d characters", STATE__NAME_MAX);
		else if (utf8_has_control(json_string_value(n)))
			body_error(e, pointer, "must not contain control characters");
		for (size_t j = 0; j < i; j++)
			if (json_equal(n, json_array_get(v, j))) {
				body_error(e, pointer, "repeats /names/%zu", j);
				break;
			}
	}
	*names = v;
}

/* The device as GET /api/devices/{codename} gives it, with status. */
static void
state__device_send(struct handler_ctx *ctx, int status)
{
	const char *codename = ctx->path->codename;

	h_device_get(ctx);
	if (ctx->res->status == 200) {
		ctx->res->status = status;
		http_add_header(ctx->res, "Content-Location", arena_printf(ctx->arena, "/api/devices/%s", codename));
	}
}

void
h_variant_put(struct handler_ctx *ctx)
{
	const char *codename = ctx->path->codename, *variant = ctx->path->variant;
	const char *region = NULL, *miui_name = NULL, *outcome, *detail;
	struct body_errors *e = body_errors_new(ctx->arena);
	json_t *names = NULL;
	char *names_json;
	PGresult *res;

	state__variant_body(ctx, e, &region, &miui_name, &names);
	if (body_error_count(e) > 0) {
		body_errors_send(e, ctx->res);
		return;
	}
	names_json = json_dumps(names, JSON_COMPACT);
	if (names_json == NULL) {
		h_problem(ctx, RT_ERR_INTERNAL, NULL, NULL);
		return;
	}
	arena_adopt(ctx->arena, names_json);
	res = h_query(ctx, DB_STMT_VARIANT_PUT,
		      &(struct db_args){.codename = codename,
					.variant = variant,
					.region = region,
					.miui_name = miui_name,
					.names = names_json,
					.actor = ctx->actor,
					.request_id = state__request_id(ctx)});
	if (res == NULL)
		return;
	outcome = PQgetvalue(res, 0, 0);
	detail = PQgetvalue(res, 0, 1);
	if (strcmp(outcome, "created") == 0) {
		state__device_send(ctx, 201);
		if (ctx->res->status == 201)
			http_add_header(ctx->res, "Location", arena_printf(ctx->arena, "/api/devices/%s", codename));
	} else if (strcmp(outcome, "updated") == 0) {
		state__device_send(ctx, 200);
	} else if (strcmp(outcome, "variant-of-other") == 0) {
		h_problem(ctx, RT_ERR_CONFLICT,
			  arena_printf(ctx->arena, "the variant %s belongs to the device %s, not to %s", variant,
				       detail, codename),
			  NULL);
	} else if (strcmp(outcome, "device-is-variant") == 0) {
		h_problem(ctx, RT_ERR_CONFLICT,
			  arena_printf(ctx->arena,
				       "%s is a variant of the device %s, not a device: its variants are put "
				       "under /api/devices/%s",
				       codename, detail, detail),
			  NULL);
	} else if (strcmp(outcome, "names-in-use") == 0) {
		json_t *list = json_array();
		char *text;

		/* the names as a JSON list inside the sentence: quotes and any character escaped */
		for (const char *p = detail, *nl; *p != '\0'; p = *nl ? nl + 1 : nl) {
			nl = strchr(p, '\n');
			if (nl == NULL)
				nl = p + strlen(p);
			json_array_append_new(list, json_stringn(p, (size_t)(nl - p)));
		}
		text = json_dumps(list, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(list);
		if (text != NULL)
			arena_adopt(ctx->arena, text);
		h_problem(ctx, RT_ERR_CONFLICT,
			  arena_printf(
				  ctx->arena,
				  "names releases of %s are listed under cannot be removed; give them in names too: %s",
				  variant, text != NULL ? text : "[]"),
			  NULL);
	} else {
		h_problem(ctx, RT_ERR_INTERNAL, NULL, NULL);
	}
}
