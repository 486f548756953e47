/* Route handlers, grouped by resource, and what they share. */
#ifndef HANDLERS_H
#define HANDLERS_H

#include <libpq-fe.h>

#include "db.h"
#include "http.h"
#include "json_writer.h"
#include "params.h"
#include "router.h"

struct handler_ctx {
	struct db *db;
	const struct http_request *req;
	struct http_response *res;
	const struct route_match *match;
	const struct route_path *path; /* the checked path captures: &match->path */
	const struct params *params;
	const char *after[ROUTE_MAX_KEYSET]; /* the cursor's key fields (route keyset), NULL without one */
	const char *actor;                   /* "token:<name>" on a route with a scope, once authorized */
	struct arena *arena;
};

void h_health(struct handler_ctx *ctx);
void h_device_list(struct handler_ctx *ctx);
void h_device_get(struct handler_ctx *ctx);
void h_device_releases(struct handler_ctx *ctx);
void h_device_version(struct handler_ctx *ctx);
void h_device_latest(struct handler_ctx *ctx);
void h_device_updates(struct handler_ctx *ctx);
void h_device_feed(struct handler_ctx *ctx);
void h_releases(struct handler_ctx *ctx);
void h_releases_latest(struct handler_ctx *ctx);
void h_release_get(struct handler_ctx *ctx);
void h_release_by_filename(struct handler_ctx *ctx);
void h_regions(struct handler_ctx *ctx);
void h_branches(struct handler_ctx *ctx);
void h_feed(struct handler_ctx *ctx);
void h_openapi(struct handler_ctx *ctx);
/* XFU's files served live (h_xfu.c, export.c's writers): GET /api/xfu/latest.yml, /api/xfu/devices.yml and
 * /api/xfu/rss/{codename}.xml. */
void h_xfu_latest(struct handler_ctx *ctx);
void h_xfu_devices(struct handler_ctx *ctx);
void h_xfu_rss(struct handler_ctx *ctx);
/* GET /metrics (h_metrics.c), for the clients of metrics_allow_networks (h_metrics_configure, below). */
void h_metrics(struct handler_ctx *ctx);
/* The change feed (h_changes.c): GET /api/changes?after=SEQ, public. */
void h_changes(struct handler_ctx *ctx);
/* The audit trail, GET /api/audit (scope audit:read): keyset pages newest first (keyset 1, the
 * sequence number), filters actor, release, since. */
void h_audit(struct handler_ctx *ctx);
/* Writes through the import pipeline (h_writes.c; scope releases:write): POST /api/releases (one release or
 * {"data": [...]}, 201 with Location for one new release, else 200 with the import report), POST /api/imports
 * (a page or an XFU YAML export, the report of romtrack import --json), PATCH /api/releases/{id} (a JSON merge
 * patch of the correctable members, If-Match with the ETag GET gives, an authoritative import). */
void h_releases_post(struct handler_ctx *ctx);
void h_imports_post(struct handler_ctx *ctx);
void h_release_patch(struct handler_ctx *ctx);
/* One row of DB_STMT_CHANGES (RELEASE_COLUMNS, CHANGE_COLUMNS) as a change feed entry: seq, kind, at, actor,
 * via, fields, and the release or its tombstone (GET /api/changes, and the data of a webhook event). */
void h_change_entry_write(struct jw *w, const PGresult *res, int row);
/* One row of DB_STMT_AUDIT as an audit entry (the API's and `romtrack audit --json`'s). */
void h_audit_entry_write(struct jw *w, const PGresult *res, int row);
/* Seconds the change feed tells pollers to wait (X-Poll-Interval): the poll_interval key. */
#define H_POLL_INTERVAL_DEFAULT 60
void h_changes_configure(long poll_interval);
/* The state writes (h_state.c, sql/013_writes.sql), each one statement, audited with ctx->actor:
 * DELETE /api/releases/{id} withdraws (optional body {"reason": "..."}, optional If-Match: 204),
 * POST /api/releases/{id}/restore brings it back (200 with the release), PUT
 * /api/devices/{codename}/variants/{variant} declares a variant (201 or 200 with the device). */
void h_release_withdraw(struct handler_ctx *ctx);
void h_release_restore(struct handler_ctx *ctx);
void h_variant_put(struct handler_ctx *ctx);
/* Webhook subscriptions (h_subscriptions.c); configure takes the URL policy (webhook_allow_*). */
struct cfg;
void h_subscriptions_configure(const struct cfg *cfg);
void h_metrics_configure(const struct cfg *cfg);
void h_subscription_create(struct handler_ctx *ctx);
void h_subscriptions(struct handler_ctx *ctx);
void h_subscription_get(struct handler_ctx *ctx);
void h_subscription_patch(struct handler_ctx *ctx);
void h_subscription_delete(struct handler_ctx *ctx);
void h_subscription_rotate(struct handler_ctx *ctx);
void h_subscription_ping(struct handler_ctx *ctx);
void h_subscription_deliveries(struct handler_ctx *ctx);
void h_subscription_retry(struct handler_ctx *ctx);

/* The OpenAPI document the API serves, read once per worker (NULL: not available). */
void h_openapi_load(const char *path);
void h_openapi_free(void);
/* The feeds' absolute links: public_url ("" = from each request) and release_page_url
 * ("" = none), both copied. */
void h_feeds_configure(const char *public_url, const char *release_page_url);
/* What the feeds' absolute links start with: public_url, else the request's scheme and host. */
const char *h_feed_base_url(struct handler_ctx *ctx);

/* Shared helpers (handlers.c). */
/* Sends what the writer holds as a 200 JSON body. */
void h_send(struct handler_ctx *ctx, struct jw *w);
/* Starts {"data": [ ... and returns the writer for the items. */
struct jw *h_list_begin(struct handler_ctx *ctx);
/* Ends the list with "next" (a URL or null), adds the Link header and sends it. */
void h_list_end(struct handler_ctx *ctx, struct jw *w, const char *next);
/* The URL of the next page: this path, the filters, limit and cursor. */
const char *h_next_url(struct handler_ctx *ctx, const char *cursor);
/* This request's URL in canonical form (path, filters, limit unless the default): what a body
 * may quote of the request, since the response cache shares it between spellings. */
const char *h_self_url(struct handler_ctx *ctx);
/* The scope a cursor is bound to: route, captures and filters. */
const char *h_cursor_scope(struct handler_ctx *ctx);
void h_problem(struct handler_ctx *ctx, enum rt_err err, const char *detail, const char *parameter);
/* Runs a statement; on failure sends the problem and returns NULL. The result
 * is freed with the request's arena. */
PGresult *h_query(struct handler_ctx *ctx, enum db_stmt stmt, const struct db_args *args);
/* The 404 for a codename no device has. */
void h_device_not_found(struct handler_ctx *ctx, const char *codename);
/* Whether a device has the codename; false after sending its 404 (or a database problem). */
bool h_device_exists(struct handler_ctx *ctx, const char *codename);
/* Decodes the cursor parameter, if any, into ctx->after (the route's keyset fields); false after
 * a 400. app.c calls it before the handler. */
bool h_cursor(struct handler_ctx *ctx);
/* The arguments a release listing takes from the request: its filters, the cursor's key (sort date,
 * version key, id) and a limit of rows; the caller adds the devices. */
struct db_args h_listing_args(struct handler_ctx *ctx, long rows);
/* Adds Last-Modified from an ISO time "YYYY-MM-DDTHH:MM:SSZ". */
void h_last_modified(struct handler_ctx *ctx, const char *iso);
/* One release row (a statement using RELEASE_COLUMNS) as the API's Release object. */
void h_release_write(struct jw *w, const PGresult *res, int row);
/* The row's incremental OTA package as an Incremental object, or null. */
void h_incremental_write(struct jw *w, const PGresult *res, int row);
/* A release row (DB_STMT_RELEASE_BY_ID or _BY_FILENAME) as GET /api/releases/{id} sends it: its JSON text and
 * the strong ETag of that text (what a client's If-Match names). */
const char *h_release_text(struct handler_ctx *ctx, const PGresult *res, int row);
const char *h_release_etag(struct handler_ctx *ctx, const PGresult *res, int row);
/* Answers a write with the release as GET /api/releases/{id} gives it now (ETag, Last-Modified), status 200 or
 * 201; a 404 when it is gone (deleted by hand right after the write). */
void h_release_send(struct handler_ctx *ctx, int status, const char *id);
/* The 410 of the withdrawn release of row 0 (with the WDCOL_ columns): "the release <what> was withdrawn on ...
 * [by ...]<hint>", with the members withdrawn_at, withdrawn_by and reason (null where unknown). */
void h_release_gone(struct handler_ctx *ctx, const PGresult *res, const char *what, const char *hint);
/* The 404 of a release: "no release has the <what>". */
void h_release_not_found(struct handler_ctx *ctx, const char *what);
/* A column PostgreSQL produced as JSON text (json_agg, array_to_json), or null. */
void h_json_column_write(struct jw *w, const PGresult *res, int row, int col);

#endif
