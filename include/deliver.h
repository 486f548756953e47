/* `romtrack deliver`: pushes each webhook subscription's events to its URL (issue 12, sql/015_subscriptions.sql).
 *
 * Standard Webhooks v1: a POST of {"type", "timestamp", "data"} (data: the change feed entry) with webhook-id (the
 * same for every attempt of one event), webhook-timestamp and webhook-signature (v1, HMAC-SHA256; both secrets
 * during a rotation's grace). At least once and in order per subscription: the subscription's position moves past
 * an event only after a 2xx; a failure is retried on deliver_retry_schedule (a 429 or 503 after its Retry-After),
 * later events waiting behind it; a 410, or the schedule run out, disables the subscription. One deliverer at a
 * time delivers a subscription (an advisory lock its connection holds); several may run. Every state lives in
 * PostgreSQL: a deliverer killed at any moment loses nothing, and the next one sends again what was not
 * acknowledged, with the same webhook-id.
 *
 * In batches (sql/016_delivery_batches.sql), each statement for many subscriptions, sent while the transfers go
 * on: the answers that came in are recorded, due subscriptions claimed, the next events of those that wait for
 * some read; each claimed subscription's events are sent one after the other (a run), which goes on with the
 * events that came since. HTTP with libcurl's multi-socket interface, up to deliver_max_in_flight subscriptions
 * at once, one delivery in flight each; connect and total timeouts; no
 * redirect followed, no proxy; at most DELIVER_ANSWER_MAX bytes of an answer read; each connection's address
 * checked by url_guard (loopback, private, link-local... refused unless webhook_allow_networks opens it). Woken by
 * LISTEN when a change commits or a subscription is made or resumed, and by the next retry's time; no polling
 * loop. */
#ifndef DELIVER_H
#define DELIVER_H

#include "config.h"

#define DELIVER_ANSWER_MAX 4096

/* Runs until SIGTERM or SIGINT (then lets what is in flight finish, within deliver_timeout). Returns the exit
 * status. */
int deliver_run(const struct cfg *cfg);

#endif
