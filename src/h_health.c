/* GET /api/health: 200 when the database answers, 503 when it does not. */
#include "handlers.h"

void
h_health(struct handler_ctx *ctx)
{
	json_t *body;

	if (h_query(ctx, DB_STMT_PING, NULL) == NULL)
		return;
	body = json_pack("{s:s, s:s}", "status", "ok", "database", "ok");
	h_json(ctx, 200, body);
}
