/* Prometheus metrics (issue 13): counts kept by every process of `romtrack serve` in a slot of its own of a shared
 * mapping the master makes before it forks (as PgBouncer's SHOW STATS or the Prometheus client's multiprocess
 * mode keep them), summed by GET /metrics. A worker that dies or is replaced loses no count: its slot stays, and
 * its replacement counts on in it. A process that attached no slot (the CLI, a `romtrack deliver` run on its own)
 * counts into one of its own that nothing reads.
 *
 * Each slot has one writer (a worker of one generation, the deliverer, the master) and the scrape reads them all:
 * every access is a relaxed atomic one. Label values are bounded: a route is its pattern, a status one of a fixed
 * list (or "other"), an SQLSTATE its class. */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/* The slots: two generations of up to CFG_WORKERS_MAX workers (a reload starts the new one while the old one
 * finishes), then the deliverer's and the master's. */
#define METRICS_WORKERS_MAX 256
#define METRICS_SLOT_DELIVER (2 * METRICS_WORKERS_MAX)
#define METRICS_SLOT_MASTER (METRICS_SLOT_DELIVER + 1)
#define METRICS_SLOTS (METRICS_SLOT_MASTER + 1)

enum metrics_restart { METRICS_RESTART_CRASHED, METRICS_RESTART_RECYCLED, METRICS_RESTART_KILLED, METRICS_RESTART__N };
enum metrics_write { METRICS_WRITE_RELEASE, METRICS_WRITE_IMPORT, METRICS_WRITE_SUBSCRIPTION, METRICS_WRITE__N };

/* The master, once, before it forks: false when the mapping cannot be made (the pool then runs without). */
bool metrics_init(void);
/* A child of the master: what it counts from now on goes to slot (METRICS_SLOT_*, or metrics_worker_slot). */
void metrics_attach(size_t slot);
size_t metrics_worker_slot(int index, unsigned generation);

/* A request answered: route (route_index; route_count() for none), its status, how long it took. */
void metrics_request(size_t route, int status, double seconds);
void metrics_cache_hit(void);
void metrics_cache_miss(void);
void metrics_cache_evictions(size_t n);
/* This process's response cache as it is now. */
void metrics_cache_size(size_t entries, size_t bytes);
void metrics_db_round_trip(void);
void metrics_db_reconnect(void);
/* sqlstate: five characters, or NULL for an error without one (a lost connection: counted as class 08). */
void metrics_db_error(const char *sqlstate);
void metrics_write(enum metrics_write kind, int status);
void metrics_restart(enum metrics_restart cause);
void metrics_reload(void);
/* A delivery's answer: a 2xx (delay: seconds from the change's commit to it, < 0: not known) or a failure. */
void metrics_delivery(bool delivered, double delay);

/* What the database says at the scrape (-1: not known). */
struct metrics_db_state {
	long long change_head;
	long long webhook_queue;
	long long subscriptions_enabled, subscriptions_disabled;
};

/* The Prometheus text exposition (format 0.0.4) of every slot, summed. */
char *metrics_render(struct arena *a, const struct metrics_db_state *state, const char *version);

#endif
