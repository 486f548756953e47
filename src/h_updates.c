/* GET /api/devices/{codename}/updates?current=: "is there anything newer than what I run?" */
#include "handlers.h"

#include <string.h>

#include "queries.h"
#include "version.h"

/* The families a version's line spans: MIUI's stable line continues into HyperOS. */
static const char *
updates_families(enum ver_family f)
{
	switch (f) {
	case VER_MIUI:
	case VER_HYPEROS: return "{miui,hyperos}";
	case VER_WEEKLY: return "{weekly}";
	case VER_PUBLIC_BETA:
		/* China's public betas were also released under the weekly grammar (23.5.6) */
		return "{public-beta,weekly}";
	default: return "{other}";
	}
}

/* The branch a version's line is released on when neither the client nor a known release
 * says. */
static const char *
updates_default_branch(enum ver_family f)
{
	return f == VER_WEEKLY ? "weekly" : f == VER_PUBLIC_BETA ? "public-beta" : "stable";
}

/* What the request and the data settle about the version the device runs. */
struct updates_current {
	const char *variant_id, *variant, *region, *branch, *type;
};

/* Whether a row of DB_STMT_DEVICE_UPDATES_CURRENT fits the variant and region the client gave
 * (NULL: not given). */
static bool
updates_row_fits(const PGresult *res, int row, const char *variant, const char *region)
{
	return (variant == NULL || strcmp(PQgetvalue(res, row, CURCOL_VARIANT), variant) == 0) &&
	       (region == NULL || strcmp(PQgetvalue(res, row, CURCOL_REGION), region) == 0);
}

/* "alioth_global (global), alioth_in_global (in)": the distinct variants and regions of the
 * rows marked in keep, for a problem's detail. */
static const char *
updates_row_list(struct handler_ctx *ctx, const PGresult *res, const bool *keep, int *count)
{
	const char *list = "";
	int n = 0;

	for (int i = 0; i < PQntuples(res); i++) {
		bool seen = false;

		if (!keep[i])
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = keep[j] &&
			       strcmp(PQgetvalue(res, j, CURCOL_VARIANT_ID), PQgetvalue(res, i, CURCOL_VARIANT_ID)) ==
				       0 &&
			       strcmp(PQgetvalue(res, j, CURCOL_REGION), PQgetvalue(res, i, CURCOL_REGION)) == 0;
		if (seen)
			continue;
		if (n < 8)
			list = arena_printf(ctx->arena, "%s%s%s (%s)", list, n ? ", " : "",
					    PQgetvalue(res, i, CURCOL_VARIANT), PQgetvalue(res, i, CURCOL_REGION));
		else if (n == 8)
			list = arena_printf(ctx->arena, "%s, ...", list);
		n++;
	}
	*count = n;
	return list;
}

/* Settles the variant, region and branch of the version the device runs (the rows of
 * DB_STMT_DEVICE_UPDATES_CURRENT); false after sending the problem.
 *
 * A current that is a known release of the device settles them: its variant and region must
 * agree with variant and region when the client gives them (400 when they contradict it), and
 * its branch is the default (Stable Beta counts as Stable). Otherwise they come from the
 * releases of its line (same family line, device code and region code), narrowed by the
 * client's variant and region, and by the version's suffix where some share it. Either way
 * the answer must be one variant: several get 400 asking for variant. */
static bool
updates_settle(struct handler_ctx *ctx, const PGresult *res, const struct ver *cur, const char *current,
	       const char *codename, struct updates_current *out)
{
	const char *const *v = ctx->params->value;
	const char *variant = v[PARAM_VARIANT], *region = v[PARAM_REGION], *list;
	int nrows = PQntuples(res), first = -1, count;
	bool exact = false, suffix = false, any = false, *keep;

	if (nrows == 0) {
		h_device_not_found(ctx, codename);
		return false;
	}
	for (int i = 0; i < nrows; i++)
		if (!PQgetisnull(res, i, CURCOL_VARIANT_ID) && strcmp(PQgetvalue(res, i, CURCOL_EXACT), "t") == 0)
			exact = true;
	keep = arena_alloc(ctx->arena, (size_t)nrows * sizeof *keep);
	for (int i = 0; i < nrows; i++) {
		keep[i] = !PQgetisnull(res, i, CURCOL_VARIANT_ID) &&
			  (strcmp(PQgetvalue(res, i, CURCOL_EXACT), "t") == 0) == exact;
		any = any || keep[i];
	}
	if (!any) {
		h_problem(ctx, RT_ERR_INVALID_PARAMETER,
			  arena_printf(ctx->arena,
				       "current: %s is not a version of %s (it has no release of that line)", current,
				       codename),
			  "current");
		return false;
	}
	list = updates_row_list(ctx, res, keep, &count);
	for (int i = 0; i < nrows; i++) {
		keep[i] = keep[i] && updates_row_fits(res, i, variant, region);
		suffix = suffix || (keep[i] && !exact && strcmp(PQgetvalue(res, i, CURCOL_SAME_SUFFIX), "t") == 0);
	}
	if (suffix)
		for (int i = 0; i < nrows; i++)
			keep[i] = keep[i] && strcmp(PQgetvalue(res, i, CURCOL_SAME_SUFFIX), "t") == 0;
	for (int i = 0; i < nrows && first < 0; i++)
		if (keep[i])
			first = i;
	if (first < 0) {
		bool variant_known = false;
		const char *asked = variant == NULL  ? arena_printf(ctx->arena, "region %s", region)
				    : region == NULL ? variant
						     : arena_printf(ctx->arena, "%s in region %s", variant, region);

		for (int i = 0; i < nrows && variant != NULL; i++)
			variant_known = variant_known || (!PQgetisnull(res, i, CURCOL_VARIANT) &&
							  updates_row_fits(res, i, variant, NULL));
		h_problem(ctx, RT_ERR_INVALID_PARAMETER,
			  exact ? arena_printf(ctx->arena, "current: %s is a release of %s, not of %s", current, list,
					       asked)
				: arena_printf(ctx->arena,
					       "current: the releases of the line of %s are of %s, not of %s", current,
					       list, asked),
			  variant != NULL && !variant_known ? "variant" : "region");
		return false;
	}
	list = updates_row_list(ctx, res, keep, &count);
	if (count > 1) {
		bool one_variant = true;

		for (int i = 0; i < nrows; i++)
			one_variant =
				one_variant && (!keep[i] || strcmp(PQgetvalue(res, i, CURCOL_VARIANT_ID),
								   PQgetvalue(res, first, CURCOL_VARIANT_ID)) == 0);
		h_problem(ctx, RT_ERR_INVALID_PARAMETER,
			  arena_printf(ctx->arena, "%s is required: %s %s %s %s", one_variant ? "region" : "variant",
				       exact ? "current" : "the releases of the line of", current,
				       exact ? "is a release of" : "are of", list),
			  one_variant ? "region" : "variant");
		return false;
	}
	out->variant_id = PQgetvalue(res, first, CURCOL_VARIANT_ID);
	out->variant = PQgetvalue(res, first, CURCOL_VARIANT);
	out->region = PQgetvalue(res, first, CURCOL_REGION);
	out->branch = v[PARAM_BRANCH];
	for (int i = 0; i < nrows && out->branch == NULL && exact; i++) {
		const char *b = PQgetvalue(res, i, CURCOL_BRANCH);

		/* a Stable Beta is a staged rollout of the Stable line: its updates are Stable */
		if (keep[i])
			out->branch = strcmp(b, "stable-beta") == 0 ? "stable" : b;
	}
	if (out->branch == NULL)
		out->branch = updates_default_branch(cur->family);
	out->type = v[PARAM_TYPE] ? v[PARAM_TYPE] : "recovery";
	return true;
}

void
h_device_updates(struct handler_ctx *ctx)
{
	const char *codename = ctx->path->codename;
	const char *current = ctx->params->value[PARAM_CURRENT], *numbers = "{";
	PGresult *known, *res;
	struct updates_current settled;
	struct jw *w;
	int incremental = -1;
	struct ver cur;

	ver_parse(current, &cur); /* required, and of a known grammar (params.c) */
	for (size_t i = 0; i < cur.nnumbers; i++)
		numbers = arena_printf(ctx->arena, "%s%s%ld", numbers, i ? "," : "", cur.numbers[i]);
	numbers = arena_printf(ctx->arena, "%s}", numbers);

	known = h_query(ctx, DB_STMT_DEVICE_UPDATES_CURRENT,
			&(struct db_args){.codename = codename,
					  .current = current,
					  .families = updates_families(cur.family),
					  .device_code = cur.device_code[0] ? cur.device_code : NULL,
					  .region_code = cur.region_code[0] ? cur.region_code : NULL,
					  .suffix = cur.suffix[0] ? cur.suffix : NULL});
	if (known == NULL || !updates_settle(ctx, known, &cur, current, codename, &settled))
		return;
	res = h_query(ctx, DB_STMT_DEVICE_UPDATES,
		      &(struct db_args){.variant_id = settled.variant_id,
					.region = settled.region,
					.branch = settled.branch,
					.type = settled.type,
					.families = updates_families(cur.family),
					.hyperos = strncmp(current, "OS", 2) == 0 ? "1" : "0",
					.numbers = numbers,
					.device_code = cur.device_code[0] ? cur.device_code : NULL});
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
	jw_key(w, "variant");
	jw_string(w, settled.variant);
	jw_key(w, "region");
	jw_string(w, settled.region);
	jw_key(w, "branch");
	jw_string(w, settled.branch);
	jw_key(w, "type");
	jw_string(w, settled.type);
	jw_object_end(w);
	jw_key(w, "incremental");
	if (incremental < 0)
		jw_null(w);
	else
		h_incremental_write(w, res, incremental);
	jw_object_end(w);
	h_send(ctx, w);
}
