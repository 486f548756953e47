/* XFU's files served live from the database, written by export.c's writers (the ones `romtrack export` uses):
 * scripts and feed readers written for XFU's latest.yml, devices.yml and rss/<codename>.xml switch by a URL. */
#include "handlers.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "export.h"

static bool
xfu__append(void *data, const char *bytes, size_t len)
{
	buf_put(data, bytes, len);
	return true;
}

static void
xfu__free_buf(void *p)
{
	buf_free(p);
	free(p);
}

/* A buffer that lives as long as the request: the response's body points into it. */
static struct buf *
xfu__body(struct handler_ctx *ctx)
{
	struct buf *b = calloc(1, sizeof *b);

	if (b == NULL)
		abort(); /* as buf does */
	arena_cleanup_add(ctx->arena, xfu__free_buf, b);
	return b;
}

void
h_xfu_latest(struct handler_ctx *ctx)
{
	struct db_args args = {.all = "false"};
	PGresult *res = h_query(ctx, DB_STMT_XFU_ENTRIES, &args);
	struct buf *body;
	struct exp_latest *w;
	char err[256];

	if (res == NULL)
		return;
	body = xfu__body(ctx);
	w = exp_latest_begin(EXP_YAML, false, xfu__append, body);
	for (int i = 0; i < PQntuples(res); i++)
		exp_latest_row(w, res, i);
	if (!exp_latest_end(w, err, sizeof err)) {
		h_problem(ctx, RT_ERR_INTERNAL, err, NULL);
		return;
	}
	http_set_body(ctx->res, 200, "application/yaml", body->data);
}

void
h_xfu_devices(struct handler_ctx *ctx)
{
	PGresult *res = h_query(ctx, DB_STMT_XFU_DEVICES, NULL);
	struct buf *body;
	char err[256];

	if (res == NULL)
		return;
	body = xfu__body(ctx);
	if (!exp_devices(res, xfu__append, body, err, sizeof err)) {
		h_problem(ctx, RT_ERR_INTERNAL, err, NULL);
		return;
	}
	http_set_body(ctx->res, 200, "application/yaml", body->data);
}

void
h_xfu_rss(struct handler_ctx *ctx)
{
	const char *codename = ctx->path->codename;
	struct db_args args = {.codename = codename};
	PGresult *name = h_query(ctx, DB_STMT_XFU_FEED_NAME, &args), *res;
	struct exp_rss_channel channel = {.codename = codename};
	struct buf *body;

	if (name == NULL)
		return;
	if (PQntuples(name) == 0) {
		/* XFU's feeds go by the codename before the first "_" */
		h_problem(ctx, RT_ERR_DEVICE_NOT_FOUND,
			  arena_printf(ctx->arena, "no variant's codename is \"%s\" or starts with \"%s_\"", codename,
				       codename),
			  NULL);
		return;
	}
	if ((res = h_query(ctx, DB_STMT_XFU_FEED_ENTRIES, &args)) == NULL)
		return;
	channel.device_name = PQgetisnull(name, 0, 0) ? codename : PQgetvalue(name, 0, 0);
	/* the channel's link: the device in romtrack's API, as XFU's is the device's page on its site (a feed of
	 * XFU's codename, such as dandelion's, may have entries of another device too: dandelion_c3l2) */
	channel.link =
		arena_printf(ctx->arena, "%s/api/devices/%s", h_feed_base_url(ctx), http_encode(ctx->arena, codename));
	body = xfu__body(ctx);
	exp_rss(res, &channel, xfu__append, body);
	http_set_body(ctx->res, 200, "application/rss+xml", body->data);
}
