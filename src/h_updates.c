/* GET /api/devices/{codename}/updates?current=: "is there anything newer than what I run?" */
#include "handlers.h"

#include <string.h>

#include "domain.h"
#include "queries.h"
#include "version.h"

/* The families a version's line spans: MIUI's stable line continues into HyperOS. */
static const char *
updates_families(enum ver_family f)
{
	switch (f) {
	case VER_MIUI:
	case VER_HYPEROS:
		return "{miui,hyperos}";
	case VER_WEEKLY:
		return "{weekly}";
	case VER_PUBLIC_BETA:
		/* China's public betas were also released under the weekly grammar (23.5.6) */
		return "{public-beta,weekly}";
	default:
		return "{other}";
	}
}

/* The branch a version's line is released on when the client does not say. */
static const char *
updates_default_branch(enum ver_family f)
{
	return f == VER_WEEKLY ? "weekly" : f == VER_PUBLIC_BETA ? "public-beta" : "stable";
}

void
h_device_updates(struct handler_ctx *ctx)
{
	const char *codename = h_codename(ctx);
	const char *const *v = ctx->params->value;
	const char *current = v[PARAM_CURRENT], *region, *branch, *type, *numbers = "{";
	PGresult *known, *res;
	struct jw *w;
	int incremental = -1;
	struct ver cur;

	if (codename == NULL)
		return;
	if (current == NULL) {
		h_problem(ctx, RT_ERR_INVALID_PARAMETER, "current (the version the device runs) is required",
			  "current");
		return;
	}
	ver_parse(current, &cur);
	if (cur.family == VER_OTHER) {
		h_problem(ctx, RT_ERR_INVALID_PARAMETER,
			  arena_printf(ctx->arena, "current: %s is not a MIUI, HyperOS, weekly or public beta version",
				       current),
			  "current");
		return;
	}
	region = v[PARAM_REGION];
	if (region == NULL && dom_region_from_version(current) != DOM_REGION__MAX)
		region = dom_region_name(dom_region_from_version(current));
	if (region == NULL) {
		h_problem(ctx, RT_ERR_INVALID_PARAMETER,
			  arena_printf(ctx->arena, "region is required: %s does not say its region", current), "region");
		return;
	}
	branch = v[PARAM_BRANCH] ? v[PARAM_BRANCH] : updates_default_branch(cur.family);
	type = v[PARAM_TYPE] ? v[PARAM_TYPE] : "recovery";
	for (size_t i = 0; i < cur.nnumbers; i++)
		numbers = arena_printf(ctx->arena, "%s%s%ld", numbers, i ? "," : "", cur.numbers[i]);
	numbers = arena_printf(ctx->arena, "%s}", numbers);

	known = h_query(ctx, DB_STMT_DEVICE_KNOWS_VERSION,
			(const char *const[]){codename, updates_families(cur.family),
					      cur.device_code[0] ? cur.device_code : NULL});
	if (known == NULL)
		return;
	if (strcmp(PQgetvalue(known, 0, 0), "t") != 0) {
		h_device_not_found(ctx, codename);
		return;
	}
	if (strcmp(PQgetvalue(known, 0, 1), "t") != 0) {
		h_problem(ctx, RT_ERR_INVALID_PARAMETER,
			  arena_printf(ctx->arena, "current: %s is not a version of %s", current, codename), "current");
		return;
	}
	res = h_query(ctx, DB_STMT_DEVICE_UPDATES,
		      (const char *const[]){codename, region, branch, type, updates_families(cur.family),
					    strncmp(current, "OS", 2) == 0 ? "1" : "0", numbers,
					    cur.device_code[0] ? cur.device_code : NULL});
	if (res == NULL)
		return;
	w = jw_new(ctx->arena);
	jw_object_begin(w);
	jw_key(w, "data");
	jw_array_begin(w);
	for (int i = 0; i < PQntuples(res); i++) {
		h_release_write(w, res, i);
		/* the OTA package from exactly the version the device runs, newest first */
		if (incremental < 0 && !PQgetisnull(res, i, RELCOL_INC_FROM) &&
		    strcmp(PQgetvalue(res, i, RELCOL_INC_FROM), current) == 0)
			incremental = i;
	}
	jw_array_end(w);
	jw_key(w, "next");
	jw_null(w);
	jw_key(w, "current");
	jw_object_begin(w);
	jw_key(w, "version");
	jw_string(w, current);
	jw_key(w, "family");
	jw_string(w, ver_family_name(cur.family));
	jw_key(w, "region");
	jw_string(w, region);
	jw_key(w, "branch");
	jw_string(w, branch);
	jw_key(w, "type");
	jw_string(w, type);
	jw_object_end(w);
	jw_key(w, "incremental");
	if (incremental < 0)
		jw_null(w);
	else
		h_incremental_write(w, res, incremental);
	jw_object_end(w);
	h_send(ctx, w);
}
