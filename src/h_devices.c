/* Devices: the list (search, keyset pages by codename) and one device with its variants. */
#include "handlers.h"

#include <string.h>

#include "cursor.h"
#include "queries.h"

/* Groups device/variant rows [0, nrows) into Device objects, in row order. */
static json_t *
devices_from_rows(const PGresult *res, int nrows)
{
	json_t *devices = json_array(), *device = NULL, *variants = NULL;
	const char *current = NULL;

	for (int i = 0; i < nrows; i++) {
		const char *codename = PQgetvalue(res, i, DEVCOL_DEVICE);

		if (current == NULL || strcmp(current, codename) != 0) {
			variants = json_array();
			device = json_pack("{s:s, s:o}", "codename", codename, "variants", variants);
			json_array_append_new(devices, device);
			current = codename;
		}
		json_array_append_new(variants,
				      json_pack("{s:s, s:s, s:o}",
						"codename", PQgetvalue(res, i, DEVCOL_VARIANT),
						"region", PQgetvalue(res, i, DEVCOL_REGION),
						"names", h_json_column(res, i, DEVCOL_NAMES)));
	}
	return devices;
}

void
h_device_list(struct handler_ctx *ctx)
{
	const char *after = NULL, *limit_plus_one, *next = NULL;
	const char *scope = h_cursor_scope(ctx);
	long limit = ctx->params->limit;
	int nrows, ndevices = 0, keep = 0;
	PGresult *res;

	if (!h_cursor(ctx, scope, &after, 1))
		return;
	/* One device more than asked tells whether there is a next page. */
	limit_plus_one = arena_printf(ctx->arena, "%ld", limit + 1);
	res = h_query(ctx, DB_STMT_DEVICE_LIST,
		      (const char *const[]){ctx->params->value[PARAM_Q], after, limit_plus_one});
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

		next = h_next_url(ctx, cursor_encode(ctx->arena, scope, &last, 1));
	}
	h_list(ctx, devices_from_rows(res, keep), next);
}

void
h_device_get(struct handler_ctx *ctx)
{
	const char *codename = h_codename(ctx);
	PGresult *res;
	json_t *devices;

	if (codename == NULL)
		return;
	res = h_query(ctx, DB_STMT_DEVICE_GET, (const char *const[]){codename});
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		h_device_not_found(ctx, codename);
		return;
	}
	devices = devices_from_rows(res, PQntuples(res));
	h_json(ctx, 200, json_incref(json_array_get(devices, 0)));
	json_decref(devices);
}
