/* Devices: the list (search, keyset pages by codename) and one device with its variants. */
#include "handlers.h"

#include <string.h>

#include "cursor.h"
#include "queries.h"

/* Writes the rows of one device from row from on (rows come ordered by codename) as a
 * Device object; returns the first row of the next device. */
static int
device_write(struct jw *w, const PGresult *res, int from, int nrows)
{
	const char *codename = PQgetvalue(res, from, DEVCOL_DEVICE);
	int i;

	jw_object_begin(w);
	jw_key(w, "codename");
	jw_string(w, codename);
	jw_key(w, "variants");
	jw_array_begin(w);
	for (i = from; i < nrows && strcmp(PQgetvalue(res, i, DEVCOL_DEVICE), codename) == 0; i++) {
		jw_object_begin(w);
		jw_key(w, "codename");
		jw_string(w, PQgetvalue(res, i, DEVCOL_VARIANT));
		jw_key(w, "region");
		jw_string(w, PQgetvalue(res, i, DEVCOL_REGION));
		jw_key(w, "names");
		h_json_column_write(w, res, i, DEVCOL_NAMES);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_object_end(w);
	return i;
}

void
h_device_list(struct handler_ctx *ctx)
{
	const char *next = NULL;
	long limit = ctx->params->limit;
	int nrows, ndevices = 0, keep = 0;
	PGresult *res;
	struct jw *w;

	/* One device more than asked tells whether there is a next page. */
	res = h_query(ctx, DB_STMT_DEVICE_LIST,
		      &(struct db_args){.q = ctx->params->value[PARAM_Q],
					.after_codename = ctx->after[0],
					.limit = arena_printf(ctx->arena, "%ld", limit + 1)});
	if (res == NULL)
		return;
	nrows = PQntuples(res);
	for (int i = 0; i < nrows; i++) {
		if (i == 0 || strcmp(PQgetvalue(res, i, DEVCOL_DEVICE), PQgetvalue(res, i - 1, DEVCOL_DEVICE)) != 0)
			ndevices++;
		if (ndevices > limit)
			break;
		keep = i + 1;
	}
	if (ndevices > limit) {
		const char *last = PQgetvalue(res, keep - 1, DEVCOL_DEVICE);

		next = h_next_url(ctx, cursor_encode(ctx->arena, h_cursor_scope(ctx), &last, 1));
	}
	w = h_list_begin(ctx);
	for (int i = 0; i < keep;)
		i = device_write(w, res, i, keep);
	h_list_end(ctx, w, next);
}

void
h_device_get(struct handler_ctx *ctx)
{
	const char *codename = ctx->path->codename;
	PGresult *res;
	struct jw *w;

	res = h_query(ctx, DB_STMT_DEVICE_GET, &(struct db_args){.codename = codename});
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		h_device_not_found(ctx, codename);
		return;
	}
	w = jw_new(ctx->arena);
	device_write(w, res, 0, PQntuples(res));
	h_send(ctx, w);
}
