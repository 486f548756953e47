/* What the API says about itself and its enumerations: regions, branches, the OpenAPI document. */
#include "handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "log.h"
#include "queries.h"

static char *h__openapi;      /* the document, read at worker start */
static size_t h__openapi_len;

void
h_openapi_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	long len;

	h_openapi_free();
	if (f == NULL) {
		log_warn("%s: %s; /api/openapi.yaml will answer 500", path, strerror(errno));
		return;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (h__openapi = malloc((size_t)len + 1)) != NULL && fread(h__openapi, 1, (size_t)len, f) == (size_t)len) {
		h__openapi[len] = '\0';
		h__openapi_len = (size_t)len;
	} else {
		log_warn("%s: cannot read it; /api/openapi.yaml will answer 500", path);
		h_openapi_free();
	}
	fclose(f);
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
