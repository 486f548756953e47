/* GET /metrics: Prometheus' text exposition of every process of the pool (src/metrics.c), for the clients of
 * metrics_allow_networks only. */
#include <stdlib.h>

#include "config.h"
#include "handlers.h"
#include "metrics.h"
#include "url_guard.h"

#ifndef ROMTRACK_VERSION
#define ROMTRACK_VERSION "0.0.0"
#endif

static struct url_net h__metrics_nets[URL_NETWORKS_MAX];
static size_t h__metrics_nnets;

void
h_metrics_configure(const struct cfg *cfg)
{
	if (!url_networks_parse(cfg->metrics_allow_networks, h__metrics_nets, URL_NETWORKS_MAX, &h__metrics_nnets))
		h__metrics_nnets = 0; /* config.c checked it: a list that does not parse opens nothing */
}

void
h_metrics(struct handler_ctx *ctx)
{
	struct metrics_db_state state = {-1, -1, -1, -1};
	PGresult *res = NULL;
	char *text;

	if (!url_networks_contain(h__metrics_nets, h__metrics_nnets, ctx->req->remote_addr)) {
		h_problem(ctx, RT_ERR_FORBIDDEN,
			  "/metrics answers the clients of the networks in metrics_allow_networks only", NULL);
		return;
	}
	/* the counters do not need the database: without it the state is left out, not made up */
	if (db_exec(ctx->db, DB_STMT_METRICS_STATE, NULL, &res) == RT_OK && PQntuples(res) == 1) {
		state.change_head = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		state.webhook_queue = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		state.subscriptions_enabled = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		state.subscriptions_disabled = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	}
	PQclear(res);
	text = metrics_render(ctx->arena, &state, ROMTRACK_VERSION);
	http_set_body(ctx->res, 200, "text/plain; version=0.0.4; charset=utf-8", text);
}
