/* `romtrack deliver` (include/deliver.h): claims due subscriptions, sends each one's head event with libcurl's
 * multi interface, records every attempt, and sleeps on the database socket and the transfers until something
 * is due. The database sees batches (sql/016_delivery_batches.sql): one statement records the answers that
 * came in meanwhile, one claims what is due, one reads the next events of every subscription that waits for
 * some, however many deliveries that is. The statements run one at a time on the connection while the
 * transfers go on (the loop never waits for the database). A claimed subscription's events are sent one after
 * the other (the next once the one before got its 2xx) while its lock is held: a run. A run that sent all it
 * had goes on with the events that came since, read from where it is (its answers need not be recorded
 * first); it ends at a failure, or when there is nothing more, and its subscription is unlocked once its
 * answers are recorded. */
#include "deliver.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "db.h"
#include "handlers.h"
#include "json_writer.h"
#include "log.h"
#include "metrics.h"
#include "queries.h"
#include "url_guard.h"
#include "webhook_sign.h"

#define DLV__IDLE_MS 30000         /* the longest sleep without a reason to wake */
#define DLV__RETRY_AFTER_MAX 86400 /* seconds of a Retry-After honoured at most */
#define DLV__RUN_MAX 64            /* events of a subscription read at a claim, sent one after the other */
#define DLV__RECORD_MS 50          /* the longest an answer waits to be recorded while runs go on */
/* The reads of next events a run goes on for before it ends (at most DLV__RUN_MAX events each): its
 * subscription is then claimed again, so that a delivery asked for by hand does not wait behind a long backlog,
 * and another deliverer may take it. */
#define DLV__READS_MAX 16

struct dlv;

/* An event to send: a change as a Standard Webhooks payload, shared by the runs of every subscription that
 * wants it, or a ping. */
struct dlv_event {
	int refs;
	char seq[24], type[32]; /* seq "0" for a ping */
	double at;              /* when the change committed, seconds since the epoch; -1: a ping */
	size_t len;
	char body[];
};

/* A run: the events of one subscription, sent one after the other (the next once the one before got a 2xx)
 * while this session holds the subscription's lock; or one delivery asked for by hand. */
struct dlv_run {
	struct dlv *d;
	unsigned long session; /* db_connections when it was claimed: the session that holds its lock */
	long long sub;         /* the subscription's id, and as text */
	char sub_id[24];
	char request[24]; /* a delivery asked for by hand (delivery_request's id), sent once; "" otherwise */
	char *url, *secret, *previous; /* previous: NULL, or the secret before while its grace lasts */
	int attempts;                  /* failed attempts of the head event before this run (for the log) */
	struct dlv_event *events[DLV__RUN_MAX];
	size_t nevents, next; /* next: the one being sent */
	/* Waiting for events (just claimed, or all sent): read by the next DB_STMT_DELIVER_NEXT (reading: the
	 * one that runs now) after the event it delivered last (after; "": the subscription's own position). */
	bool hungry, reading;
	char after[24];
	char settings_at[48]; /* when its URL and secrets were written (the claim's): a read after a change gives none
			       */
	unsigned reads;       /* of events, that gave some */
	/* the transfer of events[next] */
	char event_id[64];
	CURL *easy;
	struct curl_slist *headers;
	long long started_ms;
	size_t received;
	long retry_after; /* seconds, -1: none */
	char refused[160];
	char curl_error[CURL_ERROR_SIZE];
};

/* How one delivery ended, waiting to be recorded with the others of the same turn (sql/016's
 * delivery_record_many). */
struct dlv_answer {
	unsigned long session; /* the session that holds the subscription's lock */
	char sub_id[24], seq[24], request[24], event_id[64], event_type[32];
	long status; /* 0: no answer */
	long long ms;
	long retry_after; /* seconds, -1: none */
	char error[400];  /* "": a 2xx */
};

/* The ids of subscriptions: "3,7", and that list as a bigint[] text ("{3,7}") once dlv__ids_array wrote it. */
struct dlv_ids {
	struct buf list, array;
	size_t n;
};

/* The statement the connection runs (one at a time, while the transfers go on). */
enum dlv_stmt { DLV_STMT_NONE, DLV_STMT_RECORD, DLV_STMT_CLAIM, DLV_STMT_NEXT, DLV_STMT_NEXT_DUE };

struct dlv {
	const struct cfg *cfg;
	struct db *db;
	CURLM *multi;
	struct url_net nets[URL_NETWORKS_MAX];
	struct url_policy policy;
	char schedule[CFG_SECONDS_LIST_MAX * 12 + 4]; /* deliver_retry_schedule as a float8[] */
	size_t nschedule;
	struct dlv_run **runs;
	size_t nruns;
	struct buf answers; /* struct dlv_answer: ended, not recorded yet */
	/* Subscriptions this session holds with nothing in flight, unlocked by the next claim: their runs' answers
	 * recorded; nothing to send (moved to the head when nothing there is wanted). Ending: their runs ended,
	 * answers waiting to be recorded (dlv__ending_fold). */
	struct dlv_ids release, skip, ending;
	unsigned long session; /* db_connections when release and skip were gathered */
	long long answered_at; /* dlv__now_ms of the oldest answer not recorded */
	long long due_at;      /* dlv__now_ms when the next retry is due (DLV__IDLE_MS at most after a claim) */
	bool work;             /* a claim is wanted: a run ended, a change was heard of, a retry is due */
	long long claim_after; /* dlv__now_ms before which no claim is made (after a failed statement) */
	bool due_stale;        /* due_at is to be read again (DB_STMT_DELIVER_NEXT_DUE), after a claim */
	/* The statement the connection runs, and the one before (the next is chosen in turn, dlv__choose). While
	 * the answers' statement runs: the subscriptions unlocked once it committed; how many answers. */
	enum dlv_stmt running, ran;
	struct dlv_ids recording_last;
	size_t recorded;
	bool run_ended;     /* a run ended since the last record: its subscription waits to be unlocked */
	int epfd;           /* the transfers' sockets (libcurl's socket callback keeps the set) */
	long long timer_at; /* dlv__now_ms when libcurl wants to act on its timeouts; -1: no such time */
};

static volatile sig_atomic_t dlv__stop;
static int dlv__stop_pipe[2] = {-1, -1}; /* the signal handler writes to it: the main loop's poll wakes */

static void
dlv__on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	dlv__stop = 1;
	if (write(dlv__stop_pipe[1], "x", 1) < 0) {
		/* full already: the loop wakes all the same */
	}
	errno = saved;
}

static long long
dlv__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libcurl's socket callback: the address of each connection is checked before the connection is made (DNS may
 * answer otherwise than when the subscription was made). */
static curl_socket_t
dlv__open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	struct dlv_run *run = clientp;
	const char *why;

	(void)purpose;
	if (!url_guard_address(&run->d->policy, &address->addr, &why)) {
		char text[INET6_ADDRSTRLEN] = "?";

		getnameinfo(&address->addr, address->addrlen, text, sizeof text, NULL, 0, NI_NUMERICHOST);
		snprintf(run->refused, sizeof run->refused, "the address %s is %s", text, why);
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}

/* The answer's body is not needed: at most DELIVER_ANSWER_MAX bytes are read, then the transfer ends. */
static size_t
dlv__on_data(char *data, size_t size, size_t n, void *userdata)
{
	struct dlv_run *run = userdata;

	(void)data;
	run->received += size * n;
	return run->received > DELIVER_ANSWER_MAX ? 0 : size * n;
}

static size_t
dlv__on_header(char *line, size_t size, size_t n, void *userdata)
{
	struct dlv_run *run = userdata;
	size_t len = size * n;

	/* "Retry-After: 120": seconds only (an HTTP date is taken as none) */
	if (len > 12 && strncasecmp(line, "retry-after:", 12) == 0) {
		char value[16] = "";
		size_t i = 12, n_digits = 0;

		/* the line is not NUL-terminated: its digits are copied out first */
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		while (i < len && n_digits < sizeof value - 1 && line[i] >= '0' && line[i] <= '9')
			value[n_digits++] = line[i++];
		if (n_digits > 0 && n_digits < 10) {
			long v = strtol(value, NULL, 10);

			run->retry_after = v > DLV__RETRY_AFTER_MAX ? DLV__RETRY_AFTER_MAX : v;
		} else if (n_digits > 0) {
			run->retry_after = DLV__RETRY_AFTER_MAX;
		}
	}
	return len;
}

static struct dlv_event *
dlv__event_new(const char *seq, const char *type, const char *body)
{
	size_t len = strlen(body);
	struct dlv_event *ev = malloc(sizeof *ev + len + 1);

	if (ev == NULL)
		abort();
	ev->refs = 0;
	ev->at = -1;
	snprintf(ev->seq, sizeof ev->seq, "%s", seq);
	snprintf(ev->type, sizeof ev->type, "%s", type);
	ev->len = len;
	memcpy(ev->body, body, len + 1);
	return ev;
}

static void
dlv__event_put(struct dlv_event *ev)
{
	if (ev != NULL && --ev->refs <= 0)
		free(ev);
}

static void
dlv__secret_free(char *secret)
{
	if (secret != NULL) {
		sodium_memzero(secret, strlen(secret));
		free(secret);
	}
}

/* Ends the transfer of the run's current event (its answer taken already). Its handle is kept for the run's
 * next event (the same URL and options) until the run is freed. */
static void
dlv__transfer_end(struct dlv_run *run)
{
	if (run->easy != NULL)
		curl_multi_remove_handle(run->d->multi, run->easy);
	curl_slist_free_all(run->headers);
	run->headers = NULL;
}

static void
dlv__run_free(struct dlv_run *run)
{
	dlv__transfer_end(run);
	if (run->easy != NULL)
		curl_easy_cleanup(run->easy);
	for (size_t i = 0; i < run->nevents; i++)
		dlv__event_put(run->events[i]);
	free(run->url);
	dlv__secret_free(run->secret);
	dlv__secret_free(run->previous);
	free(run);
}

/* A run of a claimed subscription (row of DB_STMT_DELIVER_CLAIM), without events yet. */
static struct dlv_run *
dlv__run_new(struct dlv *d, const PGresult *claimed, int row)
{
	struct dlv_run *run = calloc(1, sizeof *run);

	if (run == NULL)
		abort();
	run->d = d;
	run->session = d->session; /* a reconnect since the lock makes it an orphan (dlv__session_check) */
	run->sub = strtoll(PQgetvalue(claimed, row, CLMCOL_SUBSCRIPTION), NULL, 10);
	snprintf(run->sub_id, sizeof run->sub_id, "%lld", run->sub);
	run->url = strdup(PQgetvalue(claimed, row, CLMCOL_URL));
	run->secret = strdup(PQgetvalue(claimed, row, CLMCOL_SECRET));
	if (!PQgetisnull(claimed, row, CLMCOL_PREVIOUS_SECRET))
		run->previous = strdup(PQgetvalue(claimed, row, CLMCOL_PREVIOUS_SECRET));
	run->attempts = atoi(PQgetvalue(claimed, row, CLMCOL_ATTEMPTS));
	snprintf(run->settings_at, sizeof run->settings_at, "%s", PQgetvalue(claimed, row, CLMCOL_SETTINGS_AT));
	if (run->url == NULL || run->secret == NULL)
		abort();
	return run;
}

static void
dlv__run_add_event(struct dlv_run *run, struct dlv_event *ev)
{
	if (run->nevents < DLV__RUN_MAX) {
		ev->refs++;
		run->events[run->nevents++] = ev;
	}
}

static void
dlv__ids_add(struct dlv_ids *ids, const char *id)
{
	buf_printf(&ids->list, "%s%s", ids->n++ ? "," : "", id);
}

/* Adds the ids of from to ids. */
static void
dlv__ids_add_all(struct dlv_ids *ids, const struct dlv_ids *from)
{
	if (from->n == 0)
		return;
	buf_printf(&ids->list, "%s%s", ids->n > 0 ? "," : "", from->list.data);
	ids->n += from->n;
}

/* The bigint[] text of ids ("{}" when empty); valid until the next call for the same ids. */
static const char *
dlv__ids_array(struct dlv_ids *ids)
{
	ids->array.len = 0;
	buf_printf(&ids->array, "{%s}", ids->n > 0 ? ids->list.data : "");
	return ids->array.data;
}

static void
dlv__ids_clear(struct dlv_ids *ids)
{
	ids->list.len = 0;
	ids->n = 0;
}

static void
dlv__ids_free(struct dlv_ids *ids)
{
	buf_free(&ids->list);
	buf_free(&ids->array);
}

/* How the delivery of the run's current event ended, to be recorded with the others. */
static void
dlv__answer(struct dlv *d, const struct dlv_run *run, long status, long long ms, long retry_after, const char *error)
{
	const struct dlv_event *ev = run->events[run->next];
	struct dlv_answer a = {.session = run->session, .status = status, .ms = ms, .retry_after = retry_after};

	snprintf(a.sub_id, sizeof a.sub_id, "%s", run->sub_id);
	snprintf(a.request, sizeof a.request, "%s", run->request);
	snprintf(a.event_id, sizeof a.event_id, "%s", run->event_id);
	snprintf(a.seq, sizeof a.seq, "%s", ev->seq);
	snprintf(a.event_type, sizeof a.event_type, "%s", ev->type);
	snprintf(a.error, sizeof a.error, "%s", error);
	if (d->answers.len == 0)
		d->answered_at = dlv__now_ms();
	BUF_PUSH(&d->answers, a);
}

/* "v1,<sig>" for the secret, and " v1,<sig>" for the one before it while it is still valid. */
static bool
dlv__signature(const char *secret, const char *previous, const char *event_id, long long ts, const char *body,
	       size_t len, char *out, size_t outlen)
{
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t key_len;
	char sig[WEBHOOK_SIGNATURE_MAX];

	bool ok;

	if (!webhook_secret_parse(secret, key, &key_len))
		return false;
	ok = webhook_sign(key, key_len, event_id, ts, body, len, sig);
	snprintf(out, outlen, "%s", ok ? sig : "");
	if (ok && previous != NULL && webhook_secret_parse(previous, key, &key_len) &&
	    webhook_sign(key, key_len, event_id, ts, body, len, sig))
		snprintf(out + strlen(out), outlen - strlen(out), " %s", sig);
	sodium_memzero(key, sizeof key);
	return ok;
}

/* A ping's payload: {"type": "ping", "timestamp": now, "data": {"subscription": id}}. */
static char *
dlv__ping_text(const char *sub_id)
{
	char at[32], text[160];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
	snprintf(text, sizeof text, "{\"type\":\"ping\",\"timestamp\":\"%s\",\"data\":{\"subscription\":%s}}", at,
		 sub_id);
	return strdup(text);
}

/* "2026-12-03T10:22:33.718123Z" (DLVCOL_EVENT_AT) in seconds since the epoch; -1 when it is not that. */
static double
dlv__epoch(const char *text)
{
	struct tm tm = {0};
	double seconds = 0;

	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%lf", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &seconds) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + seconds;
}

/* The event of a row of DB_STMT_DELIVER_NEXT or _EVENT as a Standard Webhooks payload. */
static struct dlv_event *
dlv__event_of_row(const PGresult *res, int row)
{
	struct arena *a = arena_new();
	struct jw *w = jw_new(a);
	struct dlv_event *ev;

	jw_object_begin(w);
	jw_key(w, "type");
	jw_string(w, PQgetvalue(res, row, DLVCOL_EVENT_TYPE));
	jw_key(w, "timestamp");
	jw_string(w, PQgetvalue(res, row, DLVCOL_EVENT_AT));
	jw_key(w, "data");
	h_change_entry_write(w, res, row);
	jw_object_end(w);
	ev = dlv__event_new(PQgetvalue(res, row, CHGCOL_SEQ), PQgetvalue(res, row, DLVCOL_EVENT_TYPE),
			    jw_text(w, NULL));
	ev->at = dlv__epoch(PQgetvalue(res, row, DLVCOL_EVENT_AT));
	arena_free(a);
	return ev;
}

static void dlv__easy_new(struct dlv *d, struct dlv_run *run);

/* Starts the transfer of the run's current event, signed with its secret (and the one before, during a
 * rotation's grace); false when it cannot (answered as failed and logged: the run ends). */
static bool
dlv__send(struct dlv *d, struct dlv_run *run)
{
	const struct dlv_event *ev = run->events[run->next];
	char header[1024], sig[2 * WEBHOOK_SIGNATURE_MAX + 2];
	long long now = (long long)time(NULL);

	/* the same for every attempt of this event to this subscription: receivers deduplicate by it */
	if (strcmp(ev->type, "ping") == 0)
		snprintf(run->event_id, sizeof run->event_id, "msg_%s_ping_%s", run->sub_id, run->request);
	else
		snprintf(run->event_id, sizeof run->event_id, "msg_%s_%s", run->sub_id, ev->seq);
	run->received = 0;
	run->retry_after = -1;
	run->refused[0] = run->curl_error[0] = '\0';
	if (!dlv__signature(run->secret, run->previous, run->event_id, now, ev->body, ev->len, sig, sizeof sig)) {
		log_error("deliver: subscription %s: no signature (its secret is not valid, or OpenSSL has no HMAC)",
			  run->sub_id);
		dlv__answer(d, run, 0, 0, -1, "the delivery could not be signed");
		return false;
	}
	run->headers = curl_slist_append(run->headers, "Content-Type: application/json");
	snprintf(header, sizeof header, "webhook-id: %s", run->event_id);
	run->headers = curl_slist_append(run->headers, header);
	snprintf(header, sizeof header, "webhook-timestamp: %lld", now);
	run->headers = curl_slist_append(run->headers, header);
	snprintf(header, sizeof header, "webhook-signature: %s", sig);
	run->headers = curl_slist_append(run->headers, header);
	/* no "Expect: 100-continue" pause before the body */
	run->headers = curl_slist_append(run->headers, "Expect:");
	sodium_memzero(sig, sizeof sig);
	sodium_memzero(header, sizeof header);
	if (run->headers == NULL)
		abort();
	if (run->easy == NULL)
		dlv__easy_new(d, run);
	curl_easy_setopt(run->easy, CURLOPT_HTTPHEADER, run->headers);
	curl_easy_setopt(run->easy, CURLOPT_POSTFIELDS, &ev->body[0]);
	curl_easy_setopt(run->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)ev->len);
	run->started_ms = dlv__now_ms();
	if (curl_multi_add_handle(d->multi, run->easy) != CURLM_OK) {
		dlv__answer(d, run, 0, 0, -1, "libcurl could not start the transfer");
		return false;
	}
	return true;
}

/* The run's handle: what stays the same for each of its events. */
static void
dlv__easy_new(struct dlv *d, struct dlv_run *run)
{
	run->easy = curl_easy_init();
	if (run->easy == NULL)
		abort();
	curl_easy_setopt(run->easy, CURLOPT_URL, run->url);
	curl_easy_setopt(run->easy, CURLOPT_PROTOCOLS_STR, d->policy.allow_http ? "http,https" : "https");
	curl_easy_setopt(run->easy, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
	curl_easy_setopt(run->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(run->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(run->easy, CURLOPT_CONNECTTIMEOUT, d->cfg->deliver_connect_timeout);
	curl_easy_setopt(run->easy, CURLOPT_TIMEOUT, d->cfg->deliver_timeout);
	curl_easy_setopt(run->easy, CURLOPT_USERAGENT, "romtrack-webhooks/1");
	curl_easy_setopt(run->easy, CURLOPT_OPENSOCKETFUNCTION, dlv__open_socket);
	curl_easy_setopt(run->easy, CURLOPT_OPENSOCKETDATA, run);
	curl_easy_setopt(run->easy, CURLOPT_WRITEFUNCTION, dlv__on_data);
	curl_easy_setopt(run->easy, CURLOPT_WRITEDATA, run);
	curl_easy_setopt(run->easy, CURLOPT_HEADERFUNCTION, dlv__on_header);
	curl_easy_setopt(run->easy, CURLOPT_HEADERDATA, run);
	curl_easy_setopt(run->easy, CURLOPT_ERRORBUFFER, run->curl_error);
	curl_easy_setopt(run->easy, CURLOPT_PRIVATE, run);
}

/* The run is this session's until it ends (dlv__run_end) or the session goes. */
static void
dlv__runs_add(struct dlv *d, struct dlv_run *run)
{
	d->runs = realloc(d->runs, (d->nruns + 1) * sizeof *d->runs);
	if (d->runs == NULL)
		abort();
	d->runs[d->nruns++] = run;
}

static void
dlv__forget(struct dlv *d, struct dlv_run *run)
{
	for (size_t i = 0; i < d->nruns; i++)
		if (d->runs[i] == run) {
			d->runs[i] = d->runs[--d->nruns];
			break;
		}
	dlv__run_free(run);
}

/* The run stops: its subscription is unlocked once its answers are recorded (a claim may take it again then). */
static void
dlv__run_end(struct dlv *d, struct dlv_run *run)
{
	if (run->session == d->session)
		dlv__ids_add(&d->ending, run->sub_id);
	d->work = d->run_ended = true; /* room for a claim; its answers are recorded at once */
	dlv__forget(d, run);
}

/* Starts the transfer of the run's first event; a run that cannot send it (answered as failed) ends. */
static void
dlv__run_start(struct dlv *d, struct dlv_run *run)
{
	run->next = 0;
	if (!dlv__send(d, run))
		dlv__run_end(d, run);
}

/* All the run's events are delivered: it waits for the next ones, after the last it sent. */
static void
dlv__run_hungry(struct dlv_run *run)
{
	snprintf(run->after, sizeof run->after, "%s", run->events[run->nevents - 1]->seq);
	for (size_t i = 0; i < run->nevents; i++)
		dlv__event_put(run->events[i]);
	run->nevents = run->next = 0;
	run->attempts = 0;
	run->hungry = true;
}

/* Starts the delivery asked for by hand that the claimed subscription of run has waiting, if any: true when
 * there was one (started, or answered as failed when its event is gone); run is taken either way then. */
static bool
dlv__start_request(struct dlv *d, struct dlv_run *run)
{
	PGresult *req = NULL, *res = NULL;
	char seq[24];
	bool ping;

	if (db_exec(d->db, DB_STMT_DELIVER_REQUEST, &(struct db_args){.id = run->sub_id}, &req) != RT_OK)
		return false;
	if (PQntuples(req) == 0) {
		PQclear(req);
		return false;
	}
	snprintf(run->request, sizeof run->request, "%s", PQgetvalue(req, 0, 0));
	ping = PQgetisnull(req, 0, 1);
	snprintf(seq, sizeof seq, "%s", ping ? "0" : PQgetvalue(req, 0, 1));
	PQclear(req);
	if (ping) {
		char *text = dlv__ping_text(run->sub_id);

		if (text == NULL)
			abort();
		dlv__run_add_event(run, dlv__event_new("0", "ping", text));
		free(text);
	} else if (db_exec(d->db, DB_STMT_DELIVER_EVENT, &(struct db_args){.id = run->sub_id, .after_seq = seq},
			   &res) == RT_OK &&
		   PQntuples(res) == 1) {
		dlv__run_add_event(run, dlv__event_of_row(res, 0));
	}
	PQclear(res);
	if (run->nevents == 0) {
		/* nothing could be sent: the request is recorded as failed, not tried forever */
		dlv__run_add_event(run, dlv__event_new(seq, ping ? "ping" : "", ""));
		snprintf(run->event_id, sizeof run->event_id, "%s", "");
		dlv__answer(d, run, 0, 0, -1, "could not be sent");
		dlv__runs_add(d, run);
		dlv__run_end(d, run);
		return true;
	}
	dlv__runs_add(d, run);
	dlv__run_start(d, run);
	return true;
}

/* The delivery's metric: its outcome, and after a 2xx how long after its change's commit it came. */
static void
dlv__count(const struct dlv_event *ev, bool delivered)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	metrics_delivery(delivered, ev->at >= 0 ? (double)now.tv_sec + (double)now.tv_nsec / 1e9 - ev->at : -1);
}

/* A transfer ended: how is kept for the next record (sql/016's delivery_record decides what follows a failure:
 * the next try, or giving up); after a 2xx the run's next event is sent at once, or, when it was the last the
 * run had, the run waits for more (a delivery asked for by hand is a run of its own: it ends). */
static void
dlv__finish(struct dlv *d, struct dlv_run *run, CURLcode rc)
{
	long status = 0;
	long long ms = dlv__now_ms() - run->started_ms;
	char error[400] = "";
	bool answered, more;

	curl_easy_getinfo(run->easy, CURLINFO_RESPONSE_CODE, &status);
	/* a write error is the answer cut at DELIVER_ANSWER_MAX: its status stands */
	answered = status > 0 && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR);
	if (!answered)
		status = 0;
	if (answered && (status < 200 || status > 299))
		snprintf(error, sizeof error, "HTTP %ld%s", status,
			 status >= 300 && status < 400 ? " (redirects are not followed)" : "");
	else if (!answered && run->refused[0] != '\0')
		snprintf(error, sizeof error, "%s", run->refused);
	else if (!answered)
		snprintf(error, sizeof error, "%s", run->curl_error[0] ? run->curl_error : curl_easy_strerror(rc));
	/* a run goes on only while its session, and so its lock, lasts: else another deliverer may be sending */
	more = error[0] == '\0' && !dlv__stop && db_ready(d->db) && db_connections(d->db) == run->session;
	dlv__answer(d, run, status, ms, (status == 429 || status == 503) ? run->retry_after : -1, error);
	dlv__count(run->events[run->next], error[0] == '\0');
	if (error[0] == '\0')
		log_info("deliver: %s to subscription %s%s: %ld in %lld ms", run->event_id, run->sub_id,
			 run->request[0] ? " (asked for by hand)" : "", status, ms);
	else
		log_warn("deliver: %s to subscription %s failed (%s%d): %s", run->event_id, run->sub_id,
			 run->request[0] ? "asked for by hand, attempt " : "attempt ",
			 run->request[0] || run->next > 0 ? 1 : run->attempts + 1, error);
	dlv__transfer_end(run);
	if (more && run->next + 1 < run->nevents) {
		run->next++;
		if (dlv__send(d, run))
			return;
	} else if (more && run->request[0] == '\0' && run->reads < DLV__READS_MAX) {
		dlv__run_hungry(run);
		return;
	}
	dlv__run_end(d, run);
}

/* A JSON string member; text that is not UTF-8 (it should not happen: the errors are libcurl's and romtrack's
 * own) is replaced, so that an error never reads as a success. */
static void
dlv__json_text(json_t *o, const char *key, const char *text)
{
	json_t *v = json_string(text);

	json_object_set_new(o, key, v != NULL ? v : json_string("(not UTF-8)"));
}

static json_t *
dlv__json_integer_or_null(const char *text)
{
	return text[0] != '\0' ? json_integer(strtoll(text, NULL, 10)) : json_null();
}

/* The connection is gone: every run stops (its transfer is abandoned), and what the session held is forgotten. */
static void
dlv__drop_all(struct dlv *d)
{
	while (d->nruns > 0)
		dlv__forget(d, d->runs[0]);
	d->answers.len = 0;
	dlv__ids_clear(&d->release);
	dlv__ids_clear(&d->skip);
	dlv__ids_clear(&d->ending);
	dlv__ids_clear(&d->recording_last);
	d->running = DLV_STMT_NONE;
	d->run_ended = d->due_stale = false;
	d->work = true; /* what was dropped is claimed again (not before claim_after) */
}

/* The database connection was replaced: the subscriptions' locks went with the old one, and another deliverer
 * may be sending their events now. What is in flight is dropped (sent again later: at least once), and so is
 * what was to be unlocked, and the statement that ran on it. */
static void
dlv__session_check(struct dlv *d)
{
	unsigned long session = db_connections(d->db);
	size_t kept = 0;

	if (session == d->session)
		return;
	for (size_t i = 0; i < d->nruns; i++) {
		struct dlv_run *run = d->runs[i];

		if (run->session == session)
			d->runs[kept++] = run;
		else
			dlv__run_free(run);
	}
	d->nruns = kept;
	dlv__ids_clear(&d->release);
	dlv__ids_clear(&d->skip);
	dlv__ids_clear(&d->ending);
	dlv__ids_clear(&d->recording_last);
	d->running = DLV_STMT_NONE;
	d->session = session;
	d->work = true; /* what was dropped is claimed again, and what was heard while away is lost */
}

/* A statement failed. Advisory locks are not rolled back with a failed statement (a claim may have taken some
 * that nothing here knows of), and the runs went on past answers that are not recorded: the session goes, with
 * its locks, and what it had is sent again (with the same webhook-ids); a second before the next claim, so
 * that a statement that keeps failing does not send the same events in a tight loop. */
static void
dlv__stmt_failed(struct dlv *d)
{
	if (db_ready(d->db))
		db_disconnect(d->db);
	dlv__drop_all(d);
	d->claim_after = dlv__now_ms() + 1000;
}

/* One answer as delivery_record_many reads it. */
static json_t *
dlv__answer_json(const struct dlv_answer *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "subscription", json_integer(strtoll(a->sub_id, NULL, 10)));
	dlv__json_text(o, "event_id", a->event_id);
	json_object_set_new(o, "seq", json_integer(strtoll(a->seq, NULL, 10)));
	dlv__json_text(o, "type", a->event_type);
	json_object_set_new(o, "status", a->status > 0 ? json_integer(a->status) : json_null());
	json_object_set_new(o, "duration_ms", json_integer(a->ms));
	if (a->error[0] != '\0')
		dlv__json_text(o, "error", a->error);
	json_object_set_new(o, "retry_after", a->retry_after >= 0 ? json_integer(a->retry_after) : json_null());
	json_object_set_new(o, "request", dlv__json_integer_or_null(a->request));
	return o;
}

/* Sends the answers of this session that came in since the last record, in one statement. The runs that
 * ended before it are unlocked once it committed. Answers a lost session had are dropped: the events are
 * sent again, with the same webhook-id. */
static void
dlv__record_send(struct dlv *d)
{
	struct dlv_answer *answers = BUF_ITEMS(&d->answers, struct dlv_answer);
	size_t n = BUF_COUNT(&d->answers, struct dlv_answer), kept = 0;
	/* delivered, failed, asked for by hand: delivery_record_many's three arguments */
	json_t *lists[3] = {json_array(), json_array(), json_array()};
	char *texts[3] = {NULL, NULL, NULL};

	for (size_t i = 0; i < n; i++) {
		const struct dlv_answer *a = &answers[i];

		if (a->session != d->session)
			continue;
		json_array_append_new(lists[a->request[0] != '\0' ? 2
					    : a->error[0] != '\0' ? 1
								  : 0],
				      dlv__answer_json(a));
		kept++;
	}
	for (int i = 0; i < 3; i++) {
		if (kept > 0 && (texts[i] = json_dumps(lists[i], JSON_COMPACT)) == NULL)
			abort();
		json_decref(lists[i]);
	}
	if (kept > 0 && db_send(d->db, DB_STMT_DELIVER_RECORD,
				&(struct db_args){.delivered = texts[0],
						  .failed = texts[1],
						  .requested = texts[2],
						  .schedule = d->schedule})) {
		d->running = DLV_STMT_RECORD;
		d->recorded = kept;
		/* every answer of the runs that ended is in this statement or in one before it */
		dlv__ids_add_all(&d->recording_last, &d->ending);
		dlv__ids_clear(&d->ending);
	} else if (kept > 0) {
		log_error("deliver: %zu answers could not be sent to the database: their events are sent again", kept);
	}
	for (int i = 0; i < 3; i++)
		free(texts[i]);
	d->answers.len = 0;
	d->run_ended = false;
}

static void
dlv__record_done(struct dlv *d, enum rt_err err)
{
	if (err != RT_OK) {
		log_error("deliver: %zu answers could not be recorded: their events are sent again", d->recorded);
		dlv__stmt_failed(d);
		return;
	}
	dlv__ids_add_all(&d->release, &d->recording_last);
	dlv__ids_clear(&d->recording_last);
}

/* Runs that ended are unlocked once their answers are recorded: by the next claim when no answer waits (after
 * the answers' statement that runs now, if one does); else dlv__record_send takes them with the answers. */
static void
dlv__ending_fold(struct dlv *d)
{
	if (d->answers.len > 0)
		return;
	d->run_ended = false;
	if (d->ending.n == 0)
		return;
	dlv__ids_add_all(d->running == DLV_STMT_RECORD ? &d->recording_last : &d->release, &d->ending);
	dlv__ids_clear(&d->ending);
}

/* The subscriptions this session holds and must not claim again, as a bigint[] text ("{3,7}"): those of its
 * runs, and those whose runs ended with answers not recorded yet (claimed again, they would be sent from their
 * old position; and an advisory lock taken twice needs two unlocks). */
static void
dlv__in_flight(const struct dlv *d, struct buf *ids)
{
	buf_printf(ids, "{");
	for (size_t i = 0; i < d->nruns; i++)
		buf_printf(ids, "%s%s", i ? "," : "", d->runs[i]->sub_id);
	if (d->ending.n > 0)
		buf_printf(ids, "%s%s", ids->len > 1 ? "," : "", d->ending.list.data);
	if (d->recording_last.n > 0)
		buf_printf(ids, "%s%s", ids->len > 1 ? "," : "", d->recording_last.list.data);
	buf_printf(ids, "}");
}

static int
dlv__run_cmp(const void *a, const void *b)
{
	long long x = (*(struct dlv_run *const *)a)->sub, y = (*(struct dlv_run *const *)b)->sub;

	return (x > y) - (x < y);
}

/* Gives each run being read (sorted by id) the events of a row of DB_STMT_DELIVER_NEXT that its subscription
 * wants: the row's subscriptions, "{3,7}". */
static void
dlv__distribute(struct dlv_run **reading, size_t n, struct dlv_event *ev, const char *subs)
{
	const char *p = subs;

	while (*p != '\0') {
		char *end;
		long long id;

		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		id = strtoll(p, &end, 10);
		p = end;
		for (size_t lo = 0, hi = n; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;

			if (reading[mid]->sub == id) {
				dlv__run_add_event(reading[mid], ev);
				break;
			}
			if (reading[mid]->sub < id)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
}

/* Unlocks what was recorded or had nothing to send, and claims what is due, up to deliver_max_in_flight runs
 * (dlv__claim_done takes the answer). */
static void
dlv__claim_send(struct dlv *d)
{
	struct buf in_flight = {0};
	long room = d->cfg->deliver_max_in_flight - (long)d->nruns;
	char limit[24];

	dlv__in_flight(d, &in_flight);
	snprintf(limit, sizeof limit, "%ld", room > 0 ? room : 0);
	if (db_send(d->db, DB_STMT_DELIVER_CLAIM,
		    &(struct db_args){.release = dlv__ids_array(&d->release),
				      .skip = dlv__ids_array(&d->skip),
				      .ids = in_flight.data,
				      .limit = limit})) {
		d->running = DLV_STMT_CLAIM;
		d->work = false;
		d->due_at = dlv__now_ms() + DLV__IDLE_MS; /* until DB_STMT_DELIVER_NEXT_DUE says */
	}
	buf_free(&in_flight);
	/* unlocked by the claim; or, when it could not be sent, with the session (dropped then) */
	dlv__ids_clear(&d->release);
	dlv__ids_clear(&d->skip);
}

/* The claimed subscriptions become runs that wait for their events (a delivery asked for by hand is looked up
 * on its own, at once: they are rare). */
static void
dlv__claim_done(struct dlv *d, enum rt_err err, const PGresult *res)
{
	if (err != RT_OK) {
		dlv__stmt_failed(d);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct dlv_run *run = dlv__run_new(d, res, i);

		/* not while stopping: it would start a transfer the stop's deadline may cut off */
		if (strcmp(PQgetvalue(res, i, CLMCOL_REQUESTED), "t") == 0 && !dlv__stop && dlv__start_request(d, run))
			continue;
		run->hungry = true;
		dlv__runs_add(d, run);
	}
	d->due_stale = true;
}

/* Reads the next events of every run that waits for some (dlv__next_done hands them out). */
static void
dlv__next_send(struct dlv *d)
{
	struct buf ids = {0}, positions = {0}, stamps = {0};
	char per[24];

	buf_printf(&ids, "{");
	buf_printf(&positions, "{");
	buf_printf(&stamps, "{");
	for (size_t i = 0; i < d->nruns; i++) {
		struct dlv_run *run = d->runs[i];

		if (!run->hungry || run->reading)
			continue;
		run->reading = true;
		buf_printf(&ids, "%s%s", ids.len > 1 ? "," : "", run->sub_id);
		buf_printf(&positions, "%s%s", positions.len > 1 ? "," : "", run->after[0] ? run->after : "NULL");
		buf_printf(&stamps, "%s\"%s\"", stamps.len > 1 ? "," : "", run->settings_at);
	}
	buf_printf(&ids, "}");
	buf_printf(&positions, "}");
	buf_printf(&stamps, "}");
	snprintf(per, sizeof per, "%d", DLV__RUN_MAX);
	if (db_send(d->db, DB_STMT_DELIVER_NEXT,
		    &(struct db_args){.ids = ids.data,
				      .positions = positions.data,
				      .stamps = stamps.data,
				      .limit = per}))
		d->running = DLV_STMT_NEXT;
	buf_free(&ids);
	buf_free(&positions);
	buf_free(&stamps);
}

/* The runs that were read start sending. One with nothing to send ends: just claimed, it is moved to the head
 * when nothing up to it is wanted (the next claim's skip); having sent events, it caught up. */
static void
dlv__next_done(struct dlv *d, enum rt_err err, const PGresult *res)
{
	struct dlv_run **reading;
	size_t n = 0;

	if (err != RT_OK) {
		dlv__stmt_failed(d);
		return;
	}
	reading = calloc(d->nruns + 1, sizeof *reading);
	if (reading == NULL)
		abort();
	for (size_t i = 0; i < d->nruns; i++)
		if (d->runs[i]->reading)
			reading[n++] = d->runs[i];
	qsort(reading, n, sizeof *reading, dlv__run_cmp);
	for (int i = 0; i < PQntuples(res); i++) {
		struct dlv_event *ev = dlv__event_of_row(res, i);

		ev->refs++; /* held while it is handed out */
		dlv__distribute(reading, n, ev, PQgetvalue(res, i, DLVCOL_SUBSCRIPTIONS));
		dlv__event_put(ev);
	}
	for (size_t i = 0; i < n; i++) {
		struct dlv_run *run = reading[i];

		run->reading = run->hungry = false;
		if (run->nevents > 0 && !dlv__stop) {
			run->reads++;
			dlv__run_start(d, run);
		} else if (run->nevents == 0 && run->after[0] == '\0') {
			dlv__ids_add(&d->skip, run->sub_id);
			dlv__forget(d, run);
		} else {
			dlv__run_end(d, run);
		}
	}
	free(reading);
}

/* When the next retry of a subscription not in flight is due (DLV__IDLE_MS at most, dlv__next_due_done). */
static void
dlv__next_due_send(struct dlv *d)
{
	struct buf ids = {0};

	dlv__in_flight(d, &ids);
	if (db_send(d->db, DB_STMT_DELIVER_NEXT_DUE, &(struct db_args){.ids = ids.data}))
		d->running = DLV_STMT_NEXT_DUE;
	buf_free(&ids);
	d->due_stale = false;
}

/* With no room, the next claim comes when a run ends; when the statement failed, in a second. */
static void
dlv__next_due_done(struct dlv *d, enum rt_err err, const PGresult *res)
{
	long ms = DLV__IDLE_MS;

	if (err == RT_OK) {
		double s = strtod(PQgetvalue(res, 0, 0), NULL);

		if (s >= 0 && s * 1000 < ms)
			ms = (long)(s * 1000) + 1;
	} else {
		ms = 1000;
	}
	if ((long)d->nruns >= d->cfg->deliver_max_in_flight)
		ms = DLV__IDLE_MS;
	d->due_at = dlv__now_ms() + ms;
}

/* Takes the answer of the statement the connection runs, when it is in. */
static void
dlv__stmt_take(struct dlv *d)
{
	enum dlv_stmt stmt = d->running;
	PGresult *res = NULL;
	enum rt_err err;

	if (stmt == DLV_STMT_NONE || db_sent_result(d->db, &err, &res) == 0)
		return;
	d->running = DLV_STMT_NONE;
	if (stmt == DLV_STMT_RECORD)
		dlv__record_done(d, err);
	else if (stmt == DLV_STMT_CLAIM)
		dlv__claim_done(d, err, res);
	else if (stmt == DLV_STMT_NEXT)
		dlv__next_done(d, err, res);
	else
		dlv__next_due_done(d, err, res);
	PQclear(res);
}

/* When stmt is wanted, -1: never. The next events as soon as a run waits for some; the answers at once when a
 * run ended or when stopping, else DLV__RECORD_MS after the oldest (a run's next event goes out before its
 * answer is recorded); a claim when one is wanted (a run ended, a change was heard of, something to unlock)
 * or a retry is due, not before claim_after; after a claim, when the next retry is due. */
static long long
dlv__wanted_at(const struct dlv *d, enum dlv_stmt stmt, long long now)
{
	long long at;

	switch (stmt) {
	case DLV_STMT_NEXT:
		for (size_t i = 0; i < d->nruns; i++)
			if (d->runs[i]->hungry && !d->runs[i]->reading)
				return now;
		return -1;
	case DLV_STMT_RECORD:
		if (d->answers.len == 0)
			return -1;
		return d->run_ended || dlv__stop ? now : d->answered_at + DLV__RECORD_MS;
	case DLV_STMT_CLAIM:
		if (dlv__stop)
			return -1;
		at = d->work || d->release.n > 0 || d->skip.n > 0 ? now : d->due_at;
		return at > d->claim_after ? at : d->claim_after;
	case DLV_STMT_NEXT_DUE: return d->due_stale && !dlv__stop ? now : -1;
	case DLV_STMT_NONE: break;
	}
	return -1;
}

/* The statement to send now, taking turns (after the one that ran last, the next one that is wanted), or
 * DLV_STMT_NONE; *next_at: when the first of the others is wanted (-1: none is). */
static enum dlv_stmt
dlv__choose(const struct dlv *d, long long now, long long *next_at)
{
	static const enum dlv_stmt order[] = {DLV_STMT_NEXT, DLV_STMT_RECORD, DLV_STMT_CLAIM, DLV_STMT_NEXT_DUE};
	const size_t n = sizeof order / sizeof order[0];
	enum dlv_stmt chosen = DLV_STMT_NONE;
	size_t first = 0;

	*next_at = -1;
	for (size_t i = 0; i < n; i++)
		if (order[i] == d->ran)
			first = i + 1;
	for (size_t k = 0; k < n; k++) {
		enum dlv_stmt stmt = order[(first + k) % n];
		long long at = dlv__wanted_at(d, stmt, now);

		if (at < 0)
			continue;
		if (at <= now && chosen == DLV_STMT_NONE)
			chosen = stmt;
		else if (*next_at < 0 || at < *next_at)
			*next_at = at;
	}
	return chosen;
}

static void
dlv__stmt_send(struct dlv *d, enum dlv_stmt stmt)
{
	d->ran = stmt;
	if (stmt == DLV_STMT_RECORD)
		dlv__record_send(d);
	else if (stmt == DLV_STMT_CLAIM)
		dlv__claim_send(d);
	else if (stmt == DLV_STMT_NEXT)
		dlv__next_send(d);
	else if (stmt == DLV_STMT_NEXT_DUE)
		dlv__next_due_send(d);
}

/* Stopping: the runs that wait for events end (those being read end when their answer is in). */
static void
dlv__end_hungry(struct dlv *d)
{
	for (size_t i = 0; i < d->nruns;) {
		struct dlv_run *run = d->runs[i];

		if (run->hungry && !run->reading)
			dlv__run_end(d, run); /* the last run takes its place */
		else
			i++;
	}
}

/* libcurl's socket callback (its multi_socket interface): the sockets of the transfers are kept in an epoll set,
 * so that a turn acts only on those that are ready (curl_multi_perform looked at every transfer each time). */
static int
dlv__on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct dlv *d = userp;
	struct epoll_event ev = {.data.fd = s};

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, s, NULL); /* fails when it was closed already: nothing to do */
		return 0;
	}
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT &&
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, s, &ev) != 0)
		log_error("deliver: epoll_ctl: %s", strerror(errno));
	return 0;
}

static int
dlv__on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct dlv *d = userp;

	(void)multi;
	d->timer_at = timeout_ms < 0 ? -1 : dlv__now_ms() + timeout_ms;
	return 0;
}

/* Lets libcurl act on the sockets that are ready and on its timeouts; then takes the answers of the transfers
 * that ended. */
static void
dlv__curl_drive(struct dlv *d)
{
	struct epoll_event evs[64];
	int running, ready, left;
	CURLMsg *msg;

	do {
		ready = epoll_wait(d->epfd, evs, 64, 0);
		for (int i = 0; i < ready; i++) {
			int mask = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
				   ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
				   ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);

			curl_multi_socket_action(d->multi, evs[i].data.fd, mask, &running);
		}
	} while (ready == 64);
	if (d->timer_at >= 0 && dlv__now_ms() >= d->timer_at) {
		d->timer_at = -1;
		curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	while ((msg = curl_multi_info_read(d->multi, &left)) != NULL) {
		struct dlv_run *run;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&run);
		dlv__finish(d, run, msg->data.result); /* d->work when the run ended: room, and a release */
	}
}

/* Sleeps until a transfer's socket is ready, the stop pipe is written to, the database's socket (pg_fd, or -1)
 * has something, or timeout_ms passed. Returns whether the database's socket woke it. */
static bool
dlv__sleep(struct dlv *d, int pg_fd, long timeout_ms)
{
	struct pollfd fds[3] = {{.fd = d->epfd, .events = POLLIN},
				{.fd = dlv__stop_pipe[0], .events = POLLIN},
				{.fd = pg_fd, .events = POLLIN}};
	long long now = dlv__now_ms();

	if (d->timer_at >= 0 && d->timer_at - now < timeout_ms)
		timeout_ms = d->timer_at > now ? (long)(d->timer_at - now) : 0;
	if (poll(fds, pg_fd >= 0 ? 3 : 2, (int)timeout_ms) <= 0)
		return false;
	if (fds[1].revents != 0) {
		char drain[64];

		while (read(dlv__stop_pipe[0], drain, sizeof drain) > 0) {
		}
	}
	return pg_fd >= 0 && fds[2].revents != 0;
}

/* The retry schedule as a float8[] text, "{5,300,1800}". */
static bool
dlv__schedule_parse(struct dlv *d, const char *text)
{
	long seconds[CFG_SECONDS_LIST_MAX];
	size_t len = 0;

	if (!cfg_seconds_list_parse(text, seconds, CFG_SECONDS_LIST_MAX, &d->nschedule))
		return false;
	len += (size_t)snprintf(d->schedule, sizeof d->schedule, "{");
	for (size_t i = 0; i < d->nschedule; i++)
		len += (size_t)snprintf(d->schedule + len, sizeof d->schedule - len, "%s%ld", i ? "," : "", seconds[i]);
	snprintf(d->schedule + len, sizeof d->schedule - len, "}");
	return true;
}

int
deliver_run(const struct cfg *cfg)
{
	struct dlv d = {.cfg = cfg, .work = true, .epfd = -1, .timer_at = -1};
	struct sigaction sa = {.sa_handler = dlv__on_signal};
	size_t nnets = 0;
	long long stop_deadline = 0;
	unsigned long heard = 0; /* db_notifications when last looked at */

	if (!dlv__schedule_parse(&d, cfg->deliver_retry_schedule) ||
	    !url_networks_parse(cfg->webhook_allow_networks, d.nets, URL_NETWORKS_MAX, &nnets)) {
		log_error("deliver: deliver_retry_schedule or webhook_allow_networks cannot be read");
		return 1;
	}
	d.policy = (struct url_policy){.allow_http = cfg->webhook_allow_http != 0, .allow = d.nets, .nallow = nnets};
	if (pipe2(dlv__stop_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		log_error("deliver: pipe: %s", strerror(errno));
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (d.multi = curl_multi_init()) == NULL ||
	    (d.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_error("deliver: libcurl cannot start");
		return 1;
	}
	curl_multi_setopt(d.multi, CURLMOPT_SOCKETFUNCTION, dlv__on_socket);
	curl_multi_setopt(d.multi, CURLMOPT_SOCKETDATA, &d);
	curl_multi_setopt(d.multi, CURLMOPT_TIMERFUNCTION, dlv__on_timer);
	curl_multi_setopt(d.multi, CURLMOPT_TIMERDATA, &d);
	d.db = db_open(cfg->database, true);
	log_info("deliver: started (at most %ld in flight, %zu retries)", cfg->deliver_max_in_flight, d.nschedule);
	while (!dlv__stop || d.nruns > 0 || d.answers.len > 0 || d.running != DLV_STMT_NONE) {
		long timeout = DLV__IDLE_MS;
		long long now = dlv__now_ms(), next_at;
		enum dlv_stmt stmt;

		if (dlv__stop && stop_deadline == 0)
			stop_deadline = now + cfg->deliver_timeout * 1000 + 1000;
		if (stop_deadline != 0 && now > stop_deadline)
			break;
		if (!db_ensure(d.db)) {
			long wait = db_retry_in_ms(d.db);

			/* the connection is gone, and the locks with it: another deliverer may take the
			 * subscriptions now, so what is in flight stops here (sent again later: at least once) */
			dlv__drop_all(&d);
			dlv__sleep(&d, -1, wait > 0 && wait < 1000 ? wait : 1000);
			d.work = true;
			continue;
		}
		dlv__session_check(&d);
		dlv__stmt_take(&d);
		dlv__session_check(&d); /* a delivery asked for by hand is looked up at once: it may reconnect */
		/* a change committed, a subscription made or resumed (the statements read the notifications too) */
		if (db_notifications(d.db) != heard) {
			heard = db_notifications(d.db);
			d.work = true;
		}
		if (dlv__stop)
			dlv__end_hungry(&d);
		dlv__ending_fold(&d);
		if (d.running == DLV_STMT_NONE && (stmt = dlv__choose(&d, now, &next_at)) != DLV_STMT_NONE)
			dlv__stmt_send(&d, stmt);
		dlv__curl_drive(&d);
		now = dlv__now_ms();
		if (d.running == DLV_STMT_NONE) {
			dlv__ending_fold(&d);
			/* again at once when the transfers made a statement due, or when stopping is done */
			if (dlv__choose(&d, now, &next_at) != DLV_STMT_NONE ||
			    (dlv__stop && d.nruns == 0 && d.answers.len == 0))
				continue;
			if (next_at >= 0 && next_at - now < timeout)
				timeout = next_at > now ? (long)(next_at - now) : 0;
		} else if (timeout > 1000) {
			timeout =
				1000; /* the statement's timeout, and the stop's deadline, are looked at each second */
		}
		if (db_notifications(d.db) != heard)
			continue;
		/* a transfer's socket, the statement's answer, a notification (reading the data version drains what
		 * the server sent), the time something is due, or the idle tick */
		if (dlv__sleep(&d, db_ready(d.db) ? PQsocket(db_conn(d.db)) : -1, timeout) &&
		    d.running == DLV_STMT_NONE)
			db_data_version(d.db);
	}
	while (d.nruns > 0)
		dlv__forget(&d, d.runs[0]);
	free(d.runs);
	buf_free(&d.answers);
	dlv__ids_free(&d.release);
	dlv__ids_free(&d.skip);
	dlv__ids_free(&d.ending);
	dlv__ids_free(&d.recording_last);
	close(dlv__stop_pipe[0]);
	close(dlv__stop_pipe[1]);
	curl_multi_cleanup(d.multi);
	curl_global_cleanup();
	close(d.epfd);
	db_close(d.db);
	log_info("deliver: stopped");
	return 0;
}
