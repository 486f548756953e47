/* Prometheus metrics in shared memory (include/metrics.h). */
#include "metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "router.h"

#define METRICS__ROUTES_MAX 64 /* route_count() at most (checked by metrics_init) */

/* The statuses romtrack and its nginx answer with; any other is "other". */
static const int metrics__statuses[] = {200, 201, 202, 204, 206, 301, 304, 400, 401, 403, 404, 405, 406,
					409, 410, 412, 413, 414, 415, 422, 428, 429, 500, 502, 503, 504};
#define METRICS__NSTATUS (sizeof metrics__statuses / sizeof metrics__statuses[0] + 1)

/* Request durations, seconds (the last bucket, +Inf, is the count). */
static const double metrics__duration_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define METRICS__NDURATION (sizeof metrics__duration_le / sizeof metrics__duration_le[0] + 1)

/* Delivery delays, seconds from a change's commit to its 2xx (retries make hours of it). */
static const double metrics__delay_le[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,    2.5,
					   5,    10,    30,   60,  300,  1800, 3600, 86400};
#define METRICS__NDELAY (sizeof metrics__delay_le / sizeof metrics__delay_le[0] + 1)

/* SQLSTATE classes counted apart; any other is "other". A lost connection (no SQLSTATE) counts as 08. */
static const char *const metrics__classes[] = {"08", "22", "23", "25", "40", "42", "53",
					       "54", "55", "57", "58", "P0", "XX"};
#define METRICS__NCLASS (sizeof metrics__classes / sizeof metrics__classes[0] + 1)

static const char *const metrics__restart_causes[METRICS_RESTART__N] = {"crashed", "recycled", "killed"};
static const char *const metrics__write_kinds[METRICS_WRITE__N] = {"release", "import", "subscription"};
static const char *const metrics__outcomes[] = {"ok", "rejected", "failed"}; /* 2xx, 4xx, 5xx */
#define METRICS__NOUTCOME (sizeof metrics__outcomes / sizeof metrics__outcomes[0])

struct metrics__slot {
	uint64_t used; /* a process attached it once: the scrape reads it */
	uint64_t requests[METRICS__ROUTES_MAX + 1][METRICS__NSTATUS];
	uint64_t duration[METRICS__ROUTES_MAX + 1][METRICS__NDURATION]; /* not cumulative: the render sums */
	uint64_t duration_us[METRICS__ROUTES_MAX + 1];
	uint64_t cache_hits, cache_misses, cache_evictions;
	uint64_t cache_entries, cache_bytes; /* gauges */
	uint64_t db_round_trips, db_reconnects, db_errors[METRICS__NCLASS];
	uint64_t writes[METRICS_WRITE__N][METRICS__NOUTCOME];
	uint64_t restarts[METRICS_RESTART__N], reloads;
	uint64_t deliveries[2]; /* delivered, failed */
	uint64_t delay[METRICS__NDELAY], delay_us;
};

static struct metrics__slot *metrics__slots;  /* METRICS_SLOTS of them, shared; NULL without metrics_init */
static struct metrics__slot metrics__private; /* where a process without a slot counts */
static struct metrics__slot *metrics__self = &metrics__private;

static void
metrics__add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static void
metrics__set(uint64_t *gauge, uint64_t v)
{
	__atomic_store_n(gauge, v, __ATOMIC_RELAXED);
}

static uint64_t
metrics__get(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

bool
metrics_init(void)
{
	void *p;

	if (metrics__slots != NULL)
		return true;
	if (route_count() > METRICS__ROUTES_MAX)
		return false;
	p = mmap(NULL, METRICS_SLOTS * sizeof *metrics__slots, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		 0);
	if (p == MAP_FAILED)
		return false;
	metrics__slots = p; /* zero-filled; pages are only taken by the slots in use */
	metrics_attach(METRICS_SLOT_MASTER);
	return true;
}

void
metrics_attach(size_t slot)
{
	if (metrics__slots == NULL || slot >= METRICS_SLOTS)
		return;
	metrics__self = &metrics__slots[slot];
	metrics__set(&metrics__self->used, 1);
}

size_t
metrics_worker_slot(int index, unsigned generation)
{
	return (size_t)(index % METRICS_WORKERS_MAX) + (generation % 2) * METRICS_WORKERS_MAX;
}

static size_t
metrics__status_index(int status)
{
	for (size_t i = 0; i < METRICS__NSTATUS - 1; i++)
		if (metrics__statuses[i] == status)
			return i;
	return METRICS__NSTATUS - 1;
}

static size_t
metrics__bucket(const double *le, size_t n, double v)
{
	size_t i = 0;

	while (i < n - 1 && v > le[i])
		i++;
	return i;
}

static uint64_t
metrics__us(double seconds)
{
	return seconds > 0 ? (uint64_t)(seconds * 1e6 + 0.5) : 0;
}

void
metrics_request(size_t route, int status, double seconds)
{
	if (route > METRICS__ROUTES_MAX)
		route = METRICS__ROUTES_MAX;
	metrics__add(&metrics__self->requests[route][metrics__status_index(status)], 1);
	metrics__add(&metrics__self
			      ->duration[route][metrics__bucket(metrics__duration_le, METRICS__NDURATION, seconds)],
		     1);
	metrics__add(&metrics__self->duration_us[route], metrics__us(seconds));
}

void
metrics_cache_hit(void)
{
	metrics__add(&metrics__self->cache_hits, 1);
}

void
metrics_cache_miss(void)
{
	metrics__add(&metrics__self->cache_misses, 1);
}

void
metrics_cache_evictions(size_t n)
{
	metrics__add(&metrics__self->cache_evictions, n);
}

void
metrics_cache_size(size_t entries, size_t bytes)
{
	metrics__set(&metrics__self->cache_entries, entries);
	metrics__set(&metrics__self->cache_bytes, bytes);
}

void
metrics_db_round_trip(void)
{
	metrics__add(&metrics__self->db_round_trips, 1);
}

void
metrics_db_reconnect(void)
{
	metrics__add(&metrics__self->db_reconnects, 1);
}

void
metrics_db_error(const char *sqlstate)
{
	size_t i = 0;

	if (sqlstate == NULL || strlen(sqlstate) < 2)
		sqlstate = "08";
	while (i < METRICS__NCLASS - 1 && strncmp(metrics__classes[i], sqlstate, 2) != 0)
		i++;
	metrics__add(&metrics__self->db_errors[i], 1);
}

void
metrics_write(enum metrics_write kind, int status)
{
	size_t outcome = status < 400 ? 0 : status < 500 ? 1 : 2;

	if ((unsigned)kind < METRICS_WRITE__N)
		metrics__add(&metrics__self->writes[kind][outcome], 1);
}

void
metrics_restart(enum metrics_restart cause)
{
	if ((unsigned)cause < METRICS_RESTART__N)
		metrics__add(&metrics__self->restarts[cause], 1);
}

void
metrics_reload(void)
{
	metrics__add(&metrics__self->reloads, 1);
}

void
metrics_delivery(bool delivered, double delay)
{
	metrics__add(&metrics__self->deliveries[delivered ? 0 : 1], 1);
	if (delivered && delay >= 0) {
		metrics__add(&metrics__self->delay[metrics__bucket(metrics__delay_le, METRICS__NDELAY, delay)], 1);
		metrics__add(&metrics__self->delay_us, metrics__us(delay));
	}
}

/* ---- the exposition ---------------------------------------------------------------------------------------- */

/* Every slot in use, summed: the slot is all uint64_t, added member by member. */
static void
metrics__total(struct metrics__slot *total)
{
	const size_t n = sizeof *total / sizeof(uint64_t);
	uint64_t *out = (uint64_t *)total;

	memset(total, 0, sizeof *total);
	for (size_t i = 0; i < (metrics__slots != NULL ? METRICS_SLOTS : 1); i++) {
		const struct metrics__slot *slot = metrics__slots != NULL ? &metrics__slots[i] : &metrics__private;
		const uint64_t *in = (const uint64_t *)slot;

		if (metrics__slots != NULL && !metrics__get(&slot->used))
			continue;
		for (size_t k = 0; k < n; k++)
			out[k] += metrics__get(&in[k]);
	}
}

static void
metrics__head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format escapes it (a route's pattern has none of \ " or a newline, but say it once). */
static void
metrics__label(struct buf *b, const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_printf(b, "\\n");
		else
			buf_printf(b, "%c", *p);
	}
}

static const char *
metrics__route_name(size_t route)
{
	return route < route_count() ? route_at(route)->pattern : "none";
}

/* Rows of the route table that share a pattern are one route: the first row of each pattern stands for it. */
static bool
metrics__route_first(size_t route)
{
	for (size_t j = 0; j < route && route < route_count(); j++)
		if (strcmp(route_at(j)->pattern, route_at(route)->pattern) == 0)
			return false;
	return true;
}

static bool
metrics__same_route(size_t a, size_t b)
{
	if (a == b)
		return true;
	return a < route_count() && b < route_count() && strcmp(route_at(a)->pattern, route_at(b)->pattern) == 0;
}

static void
metrics__requests(struct buf *b, const struct metrics__slot *t)
{
	size_t nroutes = route_count() + 1; /* and "none" */

	metrics__head(b, "romtrack_http_requests_total", "counter",
		      "Requests answered by the workers, by route (its pattern; none: no route matched) and status.");
	for (size_t r = 0; r < nroutes; r++) {
		if (!metrics__route_first(r))
			continue;
		for (size_t s = 0; s < METRICS__NSTATUS; s++) {
			uint64_t n = 0;

			for (size_t r2 = r; r2 < nroutes; r2++)
				if (metrics__same_route(r, r2))
					n += t->requests[r2][s];
			if (n == 0)
				continue;
			buf_printf(b, "romtrack_http_requests_total{route=\"");
			metrics__label(b, metrics__route_name(r));
			if (s < METRICS__NSTATUS - 1)
				buf_printf(b, "\",status=\"%d\"} %llu\n", metrics__statuses[s], (unsigned long long)n);
			else
				buf_printf(b, "\",status=\"other\"} %llu\n", (unsigned long long)n);
		}
	}
	metrics__head(b, "romtrack_http_request_duration_seconds", "histogram",
		      "Time from a request's arrival at a worker to its answer, by route.");
	for (size_t r = 0; r < nroutes; r++) {
		uint64_t cumulative = 0, us = 0;

		if (!metrics__route_first(r))
			continue;
		for (size_t r2 = r; r2 < nroutes; r2++)
			if (metrics__same_route(r, r2))
				us += t->duration_us[r2];
		for (size_t k = 0; k < METRICS__NDURATION; k++) {
			for (size_t r2 = r; r2 < nroutes; r2++)
				if (metrics__same_route(r, r2))
					cumulative += t->duration[r2][k];
			buf_printf(b, "romtrack_http_request_duration_seconds_bucket{route=\"");
			metrics__label(b, metrics__route_name(r));
			if (k < METRICS__NDURATION - 1)
				buf_printf(b, "\",le=\"%g\"} %llu\n", metrics__duration_le[k],
					   (unsigned long long)cumulative);
			else
				buf_printf(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
		}
		buf_printf(b, "romtrack_http_request_duration_seconds_sum{route=\"");
		metrics__label(b, metrics__route_name(r));
		buf_printf(b, "\"} %.6f\n", (double)us / 1e6);
		buf_printf(b, "romtrack_http_request_duration_seconds_count{route=\"");
		metrics__label(b, metrics__route_name(r));
		buf_printf(b, "\"} %llu\n", (unsigned long long)cumulative);
	}
}

static void
metrics__counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	metrics__head(b, name, "counter", help);
	buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void
metrics__gauge(struct buf *b, const char *name, const char *help, long long v)
{
	if (v < 0)
		return; /* not known (the database did not answer): absent, not a made-up 0 */
	metrics__head(b, name, "gauge", help);
	buf_printf(b, "%s %lld\n", name, v);
}

static void
metrics__others(struct buf *b, const struct metrics__slot *t)
{
	metrics__counter(b, "romtrack_response_cache_hits_total", "Answers served from a worker's response cache.",
			 t->cache_hits);
	metrics__counter(b, "romtrack_response_cache_misses_total",
			 "Cacheable requests the response cache did not hold an answer for.", t->cache_misses);
	metrics__counter(b, "romtrack_response_cache_evictions_total",
			 "Answers dropped from a response cache to make room (not those a change made stale).",
			 t->cache_evictions);
	metrics__gauge(b, "romtrack_response_cache_entries", "Answers held by the workers' response caches.",
		       (long long)t->cache_entries);
	metrics__gauge(b, "romtrack_response_cache_bytes", "Bytes held by the workers' response caches.",
		       (long long)t->cache_bytes);
	metrics__counter(b, "romtrack_db_round_trips_total",
			 "Round trips to PostgreSQL (statements, and the freshness checks without one).",
			 t->db_round_trips);
	metrics__counter(b, "romtrack_db_reconnects_total", "Connections to PostgreSQL made again after one was lost.",
			 t->db_reconnects);
	metrics__head(b, "romtrack_db_errors_total", "counter",
		      "Errors from PostgreSQL by SQLSTATE class (08 also for a connection lost without one).");
	for (size_t i = 0; i < METRICS__NCLASS; i++)
		buf_printf(b, "romtrack_db_errors_total{class=\"%s\"} %llu\n",
			   i < METRICS__NCLASS - 1 ? metrics__classes[i] : "other",
			   (unsigned long long)t->db_errors[i]);
	metrics__head(b, "romtrack_writes_total", "counter",
		      "Writes through the API by kind and outcome (ok: 2xx, rejected: 4xx, failed: 5xx).");
	for (size_t k = 0; k < METRICS_WRITE__N; k++)
		for (size_t o = 0; o < METRICS__NOUTCOME; o++)
			buf_printf(b, "romtrack_writes_total{kind=\"%s\",outcome=\"%s\"} %llu\n",
				   metrics__write_kinds[k], metrics__outcomes[o], (unsigned long long)t->writes[k][o]);
	metrics__head(b, "romtrack_worker_restarts_total", "counter",
		      "Workers the master replaced, by cause (crashed: died; recycled: left after max_requests or "
		      "max_rss_mb; killed: did not stop in time).");
	for (size_t i = 0; i < METRICS_RESTART__N; i++)
		buf_printf(b, "romtrack_worker_restarts_total{cause=\"%s\"} %llu\n", metrics__restart_causes[i],
			   (unsigned long long)t->restarts[i]);
	metrics__counter(b, "romtrack_reloads_total", "Configuration reloads (SIGHUP) the master carried out.",
			 t->reloads);
}

static void
metrics__deliveries(struct buf *b, const struct metrics__slot *t)
{
	uint64_t cumulative = 0;

	metrics__head(b, "romtrack_webhook_deliveries_total", "counter",
		      "Webhook deliveries by the deliverer `romtrack serve` runs, by outcome (delivered: a 2xx).");
	buf_printf(b, "romtrack_webhook_deliveries_total{outcome=\"delivered\"} %llu\n",
		   (unsigned long long)t->deliveries[0]);
	buf_printf(b, "romtrack_webhook_deliveries_total{outcome=\"failed\"} %llu\n",
		   (unsigned long long)t->deliveries[1]);
	metrics__head(b, "romtrack_webhook_delivery_delay_seconds", "histogram",
		      "Time from a change's commit to the 2xx of its delivery, retries included.");
	for (size_t k = 0; k < METRICS__NDELAY; k++) {
		cumulative += t->delay[k];
		if (k < METRICS__NDELAY - 1)
			buf_printf(b, "romtrack_webhook_delivery_delay_seconds_bucket{le=\"%g\"} %llu\n",
				   metrics__delay_le[k], (unsigned long long)cumulative);
		else
			buf_printf(b, "romtrack_webhook_delivery_delay_seconds_bucket{le=\"+Inf\"} %llu\n",
				   (unsigned long long)cumulative);
	}
	buf_printf(b, "romtrack_webhook_delivery_delay_seconds_sum %.6f\n", (double)t->delay_us / 1e6);
	buf_printf(b, "romtrack_webhook_delivery_delay_seconds_count %llu\n", (unsigned long long)cumulative);
}

char *
metrics_render(struct arena *a, const struct metrics_db_state *state, const char *version)
{
	struct metrics__slot *t = arena_alloc(a, sizeof *t);
	struct buf b = {0};
	char *text;

	metrics__total(t);
	metrics__head(&b, "romtrack_build_info", "gauge", "romtrack's version, as `romtrack --version` says it.");
	buf_printf(&b, "romtrack_build_info{version=\"");
	metrics__label(&b, version);
	buf_printf(&b, "\"} 1\n");
	metrics__requests(&b, t);
	metrics__others(&b, t);
	metrics__deliveries(&b, t);
	metrics__gauge(&b, "romtrack_change_feed_head", "The sequence number of the change feed's newest entry.",
		       state->change_head);
	metrics__gauge(&b, "romtrack_webhook_queue_depth",
		       "Changes after the positions of the enabled subscriptions, summed (an upper bound of the events "
		       "waiting: their filters are not applied).",
		       state->webhook_queue);
	if (state->subscriptions_enabled >= 0 && state->subscriptions_disabled >= 0) {
		metrics__head(&b, "romtrack_webhook_subscriptions", "gauge", "Webhook subscriptions by state.");
		buf_printf(&b, "romtrack_webhook_subscriptions{state=\"enabled\"} %lld\n",
			   state->subscriptions_enabled);
		buf_printf(&b, "romtrack_webhook_subscriptions{state=\"disabled\"} %lld\n",
			   state->subscriptions_disabled);
	}
	text = arena_strndup(a, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return text;
}
