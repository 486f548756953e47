/* GET /api/health: 200 when the database answers, 503 when it does not. */
#include "handlers.h"

void
h_health(struct handler_ctx *ctx)
{
	struct jw *w;

	if (h_query(ctx, DB_STMT_PING, NULL) == NULL)
		return;
	w = jw_new(ctx->arena);
	jw_object_begin(w);
	jw_key(w, "status");
	jw_string(w, "ok");
	jw_key(w, "database");
	jw_string(w, "ok");
	jw_object_end(w);
	h_send(ctx, w);
}
