/* Request dispatch: URI checks, route lookup, method check, parameter validation, handler. */
#include "app.h"

#include <string.h>

#include "handlers.h"
#include "params.h"
#include "router.h"

static const handler_fn app__handlers[ROUTE__MAX] = {
	[ROUTE_HEALTH] = h_health,
	[ROUTE_DEVICES] = h_device_list,
	[ROUTE_DEVICE] = h_device_get,
	[ROUTE_DEVICE_RELEASES] = h_device_releases,
	[ROUTE_DEVICE_VERSION] = h_device_version,
};

void
app_handle(struct db *db, struct http_request *req, struct http_response *res)
{
	struct route_match match;
	struct params params;
	struct params_error perr;
	struct handler_ctx ctx = {
		.db = db, .req = req, .res = res, .match = &match, .params = &params,
		.arena = req->arena,
	};
	const char *detail = NULL;
	enum rt_err err;

	memset(res, 0, sizeof *res);
	err = http_parse_uri(req, &detail);
	if (err != RT_OK) {
		http_problem(res, req->arena, err, detail, NULL);
		return;
	}
	if (route_match(req->path, req->arena, &match) == ROUTE__MAX) {
		/* the decoded path: http_parse_uri checked that it is valid UTF-8 */
		http_problem(res, req->arena, RT_ERR_NOT_FOUND,
			     arena_printf(req->arena, "no route matches %s",
					  http_decode(req->arena, req->path, strlen(req->path), false)),
			     NULL);
		return;
	}
	if (!route_method_allowed(match.id, req->method)) {
		http_problem(res, req->arena, RT_ERR_METHOD_NOT_ALLOWED,
			     arena_printf(req->arena, "%s accepts only %s", route_pattern(match.id),
					  route_allow(match.id)),
			     NULL);
		http_add_header(res, "Allow", route_allow(match.id));
		return;
	}
	if (!params_parse(req, route_params(match.id), &params, &perr)) {
		http_problem(res, req->arena, perr.err, perr.detail, perr.parameter);
		return;
	}
	app__handlers[match.id](&ctx);
}
