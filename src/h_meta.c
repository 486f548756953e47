/* What the API says about itself and its enumerations: regions, branches, the OpenAPI document. */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "domain.h"
#include "log.h"
#include "queries.h"

#define H__OPENAPI_MAX_BYTES ((size_t)16 * 1024 * 1024) /* the document is a few hundred kB */

static char *h__openapi; /* the document, read at worker start */
static size_t h__openapi_len;

void
h_openapi_load(const char *path)
{
	struct buf doc = {0};
	char err[512];

	h_openapi_free();
	if (!buf_read_file(&doc, path, H__OPENAPI_MAX_BYTES, err, sizeof err)) {
		log_warn("%s; /api/openapi.yaml will answer 500", err);
		return;
	}
	if (doc.len == 0) {
		log_warn("%s: empty; /api/openapi.yaml will answer 500", path);
		buf_free(&doc);
		return;
	}
	h__openapi = doc.data;
	h__openapi_len = doc.len;
}

void
h_openapi_free(void)
{
	free(h__openapi);
	h__openapi = NULL;
	h__openapi_len = 0;
}

void
h_openapi(struct handler_ctx *ctx)
{
	if (h__openapi == NULL) {
		h_problem(ctx, RT_ERR_INTERNAL, "the OpenAPI document is not available on this server", NULL);
		return;
	}
	http_set_body(ctx->res, 200, "application/yaml", h__openapi);
	ctx->res->body_len = h__openapi_len;
}

/* Rows (value, devices, releases) as [{<key>: value, name, devices, releases}]. */
static void
h__enumeration(struct handler_ctx *ctx, enum db_stmt stmt, const char *key, const char *(*title)(const char *))
{
	PGresult *res = h_query(ctx, stmt, NULL);
	struct jw *w;

	if (res == NULL)
		return;
	w = h_list_begin(ctx);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *value = PQgetvalue(res, i, ENUMCOL_VALUE);

		jw_object_begin(w);
		jw_key(w, key);
		jw_string(w, value);
		jw_key(w, "name");
		jw_string(w, title(value));
		jw_key(w, "devices");
		jw_int(w, strtoll(PQgetvalue(res, i, ENUMCOL_DEVICES), NULL, 10));
		jw_key(w, "releases");
		jw_int(w, strtoll(PQgetvalue(res, i, ENUMCOL_RELEASES), NULL, 10));
		jw_object_end(w);
	}
	h_list_end(ctx, w, NULL);
}

static const char *
h__region_title(const char *value)
{
	return dom_region_title(dom_region_parse(value));
}

static const char *
h__branch_title(const char *value)
{
	return dom_branch_title(dom_branch_parse(value));
}

void
h_regions(struct handler_ctx *ctx)
{
	h__enumeration(ctx, DB_STMT_REGIONS, "region", h__region_title);
}

void
h_branches(struct handler_ctx *ctx)
{
	h__enumeration(ctx, DB_STMT_BRANCHES, "branch", h__branch_title);
}
