/* `romtrack deliver` (include/deliver.h): claims due subscriptions, sends each one's head event with libcurl's
 * multi interface, records every attempt, and sleeps on the database socket and the transfers until something
 * is due. */
#include "deliver.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "db.h"
#include "handlers.h"
#include "json_writer.h"
#include "log.h"
#include "queries.h"
#include "url_guard.h"
#include "webhook_sign.h"

#define DLV__IDLE_MS 30000         /* the longest sleep without a reason to wake */
#define DLV__RETRY_AFTER_MAX 86400 /* seconds of a Retry-After honoured at most */

struct dlv;

/* One delivery in flight: the head event of one subscription. */
struct dlv_job {
	struct dlv *d;
	char sub_id[24], seq[24];
	char request[24]; /* a delivery asked for by hand (delivery_request's id), sent once; "" otherwise */
	char event_id[64], event_type[32];
	int attempts;          /* failed attempts of this event before this one */
	unsigned long session; /* db_connections when it was claimed: the session that holds its lock */
	char *body;
	CURL *easy;
	struct curl_slist *headers;
	long long started_ms;
	size_t received;
	long retry_after; /* seconds, -1: none */
	char refused[160];
	char curl_error[CURL_ERROR_SIZE];
};

struct dlv {
	const struct cfg *cfg;
	struct db *db;
	CURLM *multi;
	struct url_net nets[URL_NETWORKS_MAX];
	struct url_policy policy;
	long schedule[CFG_SECONDS_LIST_MAX];
	size_t nschedule;
	struct dlv_job **jobs;
	size_t njobs;
	unsigned long claim_session; /* db_connections when the lock being used was taken */
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
	struct dlv_job *job = clientp;
	const char *why;

	(void)purpose;
	if (!url_guard_address(&job->d->policy, &address->addr, &why)) {
		char text[INET6_ADDRSTRLEN] = "?";

		getnameinfo(&address->addr, address->addrlen, text, sizeof text, NULL, 0, NI_NUMERICHOST);
		snprintf(job->refused, sizeof job->refused, "the address %s is %s", text, why);
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}

/* The answer's body is not needed: at most DELIVER_ANSWER_MAX bytes are read, then the transfer ends. */
static size_t
dlv__on_data(char *data, size_t size, size_t n, void *userdata)
{
	struct dlv_job *job = userdata;

	(void)data;
	job->received += size * n;
	return job->received > DELIVER_ANSWER_MAX ? 0 : size * n;
}

static size_t
dlv__on_header(char *line, size_t size, size_t n, void *userdata)
{
	struct dlv_job *job = userdata;
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

			job->retry_after = v > DLV__RETRY_AFTER_MAX ? DLV__RETRY_AFTER_MAX : v;
		} else if (n_digits > 0) {
			job->retry_after = DLV__RETRY_AFTER_MAX;
		}
	}
	return len;
}

static void
dlv__job_free(struct dlv_job *job)
{
	if (job->easy != NULL) {
		curl_multi_remove_handle(job->d->multi, job->easy);
		curl_easy_cleanup(job->easy);
	}
	curl_slist_free_all(job->headers);
	free(job->body);
	free(job);
}

static void
dlv__unlock(struct dlv *d, const char *sub_id)
{
	PGresult *res = NULL;

	if (db_exec(d->db, DB_STMT_DELIVER_UNLOCK, &(struct db_args){.id = sub_id}, &res) == RT_OK)
		PQclear(res);
}

/* "v1,<sig>" for the secret, and " v1,<sig>" for the one before it while it is still valid. */
static bool
dlv__signature(const char *secret, const char *previous, const char *event_id, long long ts, const char *body,
	       size_t len, char *out, size_t outlen)
{
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t key_len;
	char sig[WEBHOOK_SIGNATURE_MAX];

	if (!webhook_secret_parse(secret, key, &key_len))
		return false;
	webhook_sign(key, key_len, event_id, ts, body, len, sig);
	snprintf(out, outlen, "%s", sig);
	if (previous != NULL && webhook_secret_parse(previous, key, &key_len)) {
		webhook_sign(key, key_len, event_id, ts, body, len, sig);
		snprintf(out + strlen(out), outlen - strlen(out), " %s", sig);
	}
	sodium_memzero(key, sizeof key);
	return true;
}

/* A ping's payload: {"type": "ping", "timestamp": now, "data": {"subscription": id}}. */
static char *
dlv__ping_payload(const char *sub_id)
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

/* The event of row 0 of DB_STMT_DELIVER_NEXT as a Standard Webhooks payload. */
static char *
dlv__payload(const PGresult *res)
{
	struct arena *a = arena_new();
	struct jw *w = jw_new(a);
	char *text;

	jw_object_begin(w);
	jw_key(w, "type");
	jw_string(w, PQgetvalue(res, 0, DLVCOL_EVENT_TYPE));
	jw_key(w, "timestamp");
	jw_string(w, PQgetvalue(res, 0, DLVCOL_EVENT_AT));
	jw_key(w, "data");
	h_change_entry_write(w, res, 0);
	jw_object_end(w);
	text = strdup(jw_text(w, NULL));
	arena_free(a);
	return text;
}

/* What a delivery sends and where: a job without its transfer. */
static struct dlv_job *
dlv__job_new(struct dlv *d, const char *sub_id, const char *seq, const char *event_type, const char *request)
{
	struct dlv_job *job = calloc(1, sizeof *job);

	if (job == NULL)
		abort();
	job->d = d;
	job->retry_after = -1;
	job->session = d->claim_session; /* a reconnect since the lock makes it an orphan (dlv__drop_orphans) */
	snprintf(job->sub_id, sizeof job->sub_id, "%s", sub_id);
	snprintf(job->seq, sizeof job->seq, "%s", seq);
	snprintf(job->event_type, sizeof job->event_type, "%s", event_type);
	snprintf(job->request, sizeof job->request, "%s", request);
	/* the same for every attempt of this event to this subscription: receivers deduplicate by it */
	if (strcmp(event_type, "ping") == 0)
		snprintf(job->event_id, sizeof job->event_id, "msg_%s_ping_%s", sub_id, request);
	else
		snprintf(job->event_id, sizeof job->event_id, "msg_%s_%s", sub_id, seq);
	return job;
}

/* Starts job's transfer of job->body to url, signed with secret (and previous, when not NULL); false when it
 * cannot (logged; job freed). */
static bool
dlv__send(struct dlv *d, struct dlv_job *job, const char *url, const char *secret, const char *previous)
{
	char header[1024], sig[2 * WEBHOOK_SIGNATURE_MAX + 2];
	long long now = (long long)time(NULL);
	size_t len;

	if (job->body == NULL)
		abort();
	len = strlen(job->body);
	if (!dlv__signature(secret, previous, job->event_id, now, job->body, len, sig, sizeof sig)) {
		log_error("deliver: subscription %s has no valid secret", job->sub_id);
		dlv__job_free(job);
		return false;
	}
	job->headers = curl_slist_append(job->headers, "Content-Type: application/json");
	snprintf(header, sizeof header, "webhook-id: %s", job->event_id);
	job->headers = curl_slist_append(job->headers, header);
	snprintf(header, sizeof header, "webhook-timestamp: %lld", now);
	job->headers = curl_slist_append(job->headers, header);
	snprintf(header, sizeof header, "webhook-signature: %s", sig);
	job->headers = curl_slist_append(job->headers, header);
	/* no "Expect: 100-continue" pause before the body */
	job->headers = curl_slist_append(job->headers, "Expect:");
	sodium_memzero(sig, sizeof sig);
	sodium_memzero(header, sizeof header);
	job->easy = curl_easy_init();
	if (job->easy == NULL || job->headers == NULL)
		abort();
	curl_easy_setopt(job->easy, CURLOPT_URL, url);
	curl_easy_setopt(job->easy, CURLOPT_PROTOCOLS_STR, d->policy.allow_http ? "http,https" : "https");
	curl_easy_setopt(job->easy, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
	curl_easy_setopt(job->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(job->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(job->easy, CURLOPT_CONNECTTIMEOUT, d->cfg->deliver_connect_timeout);
	curl_easy_setopt(job->easy, CURLOPT_TIMEOUT, d->cfg->deliver_timeout);
	curl_easy_setopt(job->easy, CURLOPT_USERAGENT, "romtrack-webhooks/1");
	curl_easy_setopt(job->easy, CURLOPT_HTTPHEADER, job->headers);
	curl_easy_setopt(job->easy, CURLOPT_POSTFIELDS, job->body);
	curl_easy_setopt(job->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(job->easy, CURLOPT_OPENSOCKETFUNCTION, dlv__open_socket);
	curl_easy_setopt(job->easy, CURLOPT_OPENSOCKETDATA, job);
	curl_easy_setopt(job->easy, CURLOPT_WRITEFUNCTION, dlv__on_data);
	curl_easy_setopt(job->easy, CURLOPT_WRITEDATA, job);
	curl_easy_setopt(job->easy, CURLOPT_HEADERFUNCTION, dlv__on_header);
	curl_easy_setopt(job->easy, CURLOPT_HEADERDATA, job);
	curl_easy_setopt(job->easy, CURLOPT_ERRORBUFFER, job->curl_error);
	curl_easy_setopt(job->easy, CURLOPT_PRIVATE, job);
	job->started_ms = dlv__now_ms();
	if (curl_multi_add_handle(d->multi, job->easy) != CURLM_OK) {
		dlv__job_free(job);
		return false;
	}
	d->jobs = realloc(d->jobs, (d->njobs + 1) * sizeof *d->jobs);
	if (d->jobs == NULL)
		abort();
	d->jobs[d->njobs++] = job;
	return true;
}

/* Starts the delivery of the event of row 0 of DB_STMT_DELIVER_NEXT or _EVENT (request: "" or the request
 * asking for it by hand). */
static bool
dlv__start_event(struct dlv *d, const char *sub_id, const PGresult *res, const char *request)
{
	struct dlv_job *job =
		dlv__job_new(d, sub_id, PQgetvalue(res, 0, CHGCOL_SEQ), PQgetvalue(res, 0, DLVCOL_EVENT_TYPE), request);

	job->attempts = request[0] != '\0' ? 0 : atoi(PQgetvalue(res, 0, DLVCOL_ATTEMPTS));
	job->body = dlv__payload(res);
	return dlv__send(d, job, PQgetvalue(res, 0, DLVCOL_URL), PQgetvalue(res, 0, DLVCOL_SECRET),
			 PQgetisnull(res, 0, DLVCOL_PREVIOUS_SECRET) ? NULL
								     : PQgetvalue(res, 0, DLVCOL_PREVIOUS_SECRET));
}

/* Starts the delivery asked for by hand that the subscription has waiting, if any: true when there was one
 * (started, or recorded as failed when its event is gone). */
static bool
dlv__start_request(struct dlv *d, const char *sub_id)
{
	PGresult *req = NULL, *res = NULL;
	char request[24], seq[24];
	bool ping, started = false;

	if (db_exec(d->db, DB_STMT_DELIVER_REQUEST, &(struct db_args){.id = sub_id}, &req) != RT_OK)
		return false;
	if (PQntuples(req) == 0) {
		PQclear(req);
		return false;
	}
	snprintf(request, sizeof request, "%s", PQgetvalue(req, 0, 0));
	ping = PQgetisnull(req, 0, 1);
	snprintf(seq, sizeof seq, "%s", ping ? "0" : PQgetvalue(req, 0, 1));
	PQclear(req);
	if (ping) {
		if (db_exec(d->db, DB_STMT_DELIVER_PING, &(struct db_args){.id = sub_id}, &res) == RT_OK &&
		    PQntuples(res) == 1) {
			struct dlv_job *job = dlv__job_new(d, sub_id, seq, "ping", request);

			job->body = dlv__ping_payload(sub_id);
			started = dlv__send(d, job, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
					    PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2));
		}
	} else if (db_exec(d->db, DB_STMT_DELIVER_EVENT, &(struct db_args){.id = sub_id, .after_seq = seq}, &res) ==
			   RT_OK &&
		   PQntuples(res) == 1) {
		started = dlv__start_event(d, sub_id, res, request);
	}
	PQclear(res);
	if (!started) {
		PGresult *done = NULL;

		/* nothing could be sent: the request is recorded as failed, not tried forever */
		if (db_exec(d->db, DB_STMT_DELIVER_REQUEST_DONE,
			    &(struct db_args){.request = request,
					      .event_id = "",
					      .after_seq = seq,
					      .event_type = ping ? "ping" : "",
					      .duration_ms = "0",
					      .error = "could not be sent"},
			    &done) == RT_OK)
			PQclear(done);
	}
	return started;
}

static void
dlv__forget(struct dlv *d, struct dlv_job *job)
{
	for (size_t i = 0; i < d->njobs; i++)
		if (d->jobs[i] == job) {
			d->jobs[i] = d->jobs[--d->njobs];
			break;
		}
	dlv__job_free(job);
}

/* A transfer ended: the attempt is recorded and the subscription moved on (sql/015's delivery_record). */
static void
dlv__finish(struct dlv *d, struct dlv_job *job, CURLcode rc)
{
	long status = 0;
	long long ms = dlv__now_ms() - job->started_ms;
	char error[400] = "", disable[600] = "", status_text[24] = "", ms_text[24], delay_text[32] = "0";
	bool answered;
	PGresult *res = NULL;

	curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
	/* a write error is the answer cut at DELIVER_ANSWER_MAX: its status stands */
	answered = status > 0 && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR);
	if (answered)
		snprintf(status_text, sizeof status_text, "%ld", status);
	if (!answered || status < 200 || status > 299) {
		int failures = job->attempts + 1;

		if (answered)
			snprintf(error, sizeof error, "HTTP %ld%s", status,
				 status >= 300 && status < 400 ? " (redirects are not followed)" : "");
		else if (job->refused[0] != '\0')
			snprintf(error, sizeof error, "%s", job->refused);
		else
			snprintf(error, sizeof error, "%s",
				 job->curl_error[0] ? job->curl_error : curl_easy_strerror(rc));
		if (answered && status == 410) {
			snprintf(disable, sizeof disable, "the receiver answered 410 Gone");
		} else if ((size_t)failures > d->nschedule) {
			snprintf(disable, sizeof disable, "gave up after %d attempts; the last: %s", failures, error);
		} else {
			/* the schedule's delay, give or take a tenth, so that retries of many do not come at once */
			double delay =
				(double)d->schedule[failures - 1] * (0.9 + 0.2 * randombytes_uniform(1001) / 1000.0);

			if (answered && (status == 429 || status == 503) && job->retry_after >= 0)
				delay = (double)job->retry_after;
			snprintf(delay_text, sizeof delay_text, "%.3f", delay);
		}
	}
	snprintf(ms_text, sizeof ms_text, "%lld", ms);
	if (job->request[0] != '\0') {
		/* asked for by hand: one attempt, whatever its outcome; the subscription does not move */
		if (db_connections(d->db) == job->session &&
		    db_exec(d->db, DB_STMT_DELIVER_REQUEST_DONE,
			    &(struct db_args){.request = job->request,
					      .event_id = job->event_id,
					      .after_seq = job->seq,
					      .event_type = job->event_type,
					      .status = answered ? status_text : NULL,
					      .duration_ms = ms_text,
					      .error = error[0] ? error : NULL},
			    &res) == RT_OK)
			PQclear(res);
		log_info("deliver: %s to subscription %s (asked for by hand): %s", job->event_id, job->sub_id,
			 error[0] ? error : status_text);
		if (db_connections(d->db) == job->session)
			dlv__unlock(d, job->sub_id);
		dlv__forget(d, job);
		return;
	}
	if (db_connections(d->db) == job->session && db_exec(d->db, DB_STMT_DELIVER_RECORD,
							     &(struct db_args){.id = job->sub_id,
									       .event_id = job->event_id,
									       .after_seq = job->seq,
									       .event_type = job->event_type,
									       .status = answered ? status_text : NULL,
									       .duration_ms = ms_text,
									       .error = error[0] ? error : NULL,
									       .delay = delay_text,
									       .disable = disable[0] ? disable : NULL},
							     &res) == RT_OK)
		PQclear(res);
	if (error[0] == '\0')
		log_info("deliver: %s to subscription %s: %ld in %lld ms", job->event_id, job->sub_id, status, ms);
	else
		log_warn("deliver: %s to subscription %s failed (attempt %d): %s%s%s", job->event_id, job->sub_id,
			 job->attempts + 1, error, disable[0] ? "; disabled: " : "", disable);
	if (db_connections(d->db) == job->session)
		dlv__unlock(d, job->sub_id);
	dlv__forget(d, job);
}

/* The subscriptions in flight as a text[] literal, "{3,7}", and then those of tried ("" or ",5,9"). */
static void
dlv__in_flight(const struct dlv *d, struct buf *ids, const char *tried)
{
	buf_printf(ids, "{");
	for (size_t i = 0; i < d->njobs; i++)
		buf_printf(ids, "%s%s", i ? "," : "", d->jobs[i]->sub_id);
	buf_printf(ids, "%s}", d->njobs == 0 && tried[0] == ',' ? tried + 1 : tried);
}

/* Claims what is due and starts its deliveries, up to deliver_max_in_flight. A subscription another deliverer
 * holds, or one with nothing it wants, is left out of the next query of the same claim, so that the ones after
 * it are not kept waiting (a few rounds at most). */
static void
dlv__claim(struct dlv *d)
{
	struct buf tried = {0};

	buf_printf(&tried, "%s", "");
	for (int round = 0; round < 8; round++) {
		struct buf ids = {0};
		PGresult *due = NULL;
		long room = d->cfg->deliver_max_in_flight - (long)d->njobs;
		char limit[24];
		int rows;

		if (room <= 0)
			break;
		dlv__in_flight(d, &ids, tried.data);
		snprintf(limit, sizeof limit, "%ld", room);
		if (db_exec(d->db, DB_STMT_DELIVER_DUE, &(struct db_args){.ids = ids.data, .limit = limit}, &due) !=
		    RT_OK) {
			buf_free(&ids);
			break;
		}
		buf_free(&ids);
		rows = PQntuples(due);
		for (int i = 0; i < rows; i++) {
			const char *id = PQgetvalue(due, i, 0);
			PGresult *res = NULL;
			bool locked;

			d->claim_session = db_connections(d->db);
			if (db_exec(d->db, DB_STMT_DELIVER_LOCK, &(struct db_args){.id = id}, &res) != RT_OK) {
				rows = 0;
				break;
			}
			locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
			PQclear(res);
			if (!locked || db_connections(d->db) != d->claim_session) { /* another deliverer has it */
				buf_printf(&tried, ",%s", id);
				continue;
			}
			if (dlv__start_request(d, id))
				continue;
			res = NULL;
			if (db_exec(d->db, DB_STMT_DELIVER_NEXT, &(struct db_args){.id = id}, &res) != RT_OK) {
				dlv__unlock(d, id);
				rows = 0;
				break;
			}
			if (PQntuples(res) == 1 && dlv__start_event(d, id, res, "")) {
				PQclear(res);
				continue;
			}
			PQclear(res);
			res = NULL;
			/* nothing it wants up to the head: its position moves there */
			if (db_exec(d->db, DB_STMT_DELIVER_SKIP, &(struct db_args){.id = id}, &res) == RT_OK)
				PQclear(res);
			dlv__unlock(d, id);
			buf_printf(&tried, ",%s", id);
		}
		PQclear(due);
		if (rows < room) /* nothing more is due */
			break;
	}
	buf_free(&tried);
}

/* Milliseconds until the next retry of a subscription not in flight is due (DLV__IDLE_MS at most). One that
 * is due already (since the claim, or held by another deliverer) is looked at again in a quarter second. */
static long
dlv__next_due_ms(struct dlv *d)
{
	PGresult *res = NULL;
	struct buf ids = {0};
	long ms = DLV__IDLE_MS;
	enum rt_err err;

	dlv__in_flight(d, &ids, "");
	err = db_exec(d->db, DB_STMT_DELIVER_NEXT_DUE, &(struct db_args){.ids = ids.data}, &res);
	buf_free(&ids);
	if (err == RT_OK) {
		double s = strtod(PQgetvalue(res, 0, 0), NULL);

		if (s >= 0 && s * 1000 < ms)
			ms = (long)(s * 1000) + 1;
		PQclear(res);
	}
	return ms;
}

/* The database connection was replaced: the subscriptions' locks went with the old one, and another deliverer
 * may be sending their events now. What is in flight is dropped (sent again later: at least once). */
static void
dlv__drop_orphans(struct dlv *d)
{
	unsigned long session = db_connections(d->db);
	size_t kept = 0;

	for (size_t i = 0; i < d->njobs; i++) {
		struct dlv_job *job = d->jobs[i];

		if (job->session == session)
			d->jobs[kept++] = job;
		else
			dlv__job_free(job);
	}
	d->njobs = kept;
}

int
deliver_run(const struct cfg *cfg)
{
	struct dlv d = {.cfg = cfg};
	struct sigaction sa = {.sa_handler = dlv__on_signal};
	size_t nnets = 0;
	bool work = true;
	long long stop_deadline = 0;
	unsigned long heard = 0; /* db_notifications when the last claim began */

	if (!cfg_seconds_list_parse(cfg->deliver_retry_schedule, d.schedule, CFG_SECONDS_LIST_MAX, &d.nschedule) ||
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
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (d.multi = curl_multi_init()) == NULL) {
		log_error("deliver: libcurl cannot start");
		return 1;
	}
	d.db = db_open(cfg->database, true);
	log_info("deliver: started (at most %ld in flight, %zu retries)", cfg->deliver_max_in_flight, d.nschedule);
	while (!dlv__stop || d.njobs > 0) {
		struct curl_waitfd fds[2] = {{.fd = dlv__stop_pipe[0], .events = CURL_WAIT_POLLIN},
					     {.fd = -1, .events = CURL_WAIT_POLLIN}};
		long timeout = DLV__IDLE_MS, curl_timeout = -1;
		int running, left, numfds = 0;
		CURLMsg *msg;

		if (dlv__stop && stop_deadline == 0)
			stop_deadline = dlv__now_ms() + cfg->deliver_timeout * 1000 + 1000;
		if (stop_deadline != 0 && dlv__now_ms() > stop_deadline)
			break;
		if (!db_ensure(d.db)) {
			long wait = db_retry_in_ms(d.db);

			dlv__drop_orphans(&d);
			curl_multi_poll(d.multi, NULL, 0, (int)(wait > 0 && wait < 1000 ? wait : 1000), NULL);
			work = true;
			continue;
		}
		dlv__drop_orphans(&d);
		if (work && !dlv__stop) {
			heard = db_notifications(d.db);
			dlv__claim(&d);
		}
		work = false;
		curl_multi_perform(d.multi, &running);
		while ((msg = curl_multi_info_read(d.multi, &left)) != NULL) {
			struct dlv_job *job;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&job);
			dlv__finish(&d, job, msg->data.result);
			work = true; /* its subscription may have its next event */
		}
		if (work)
			continue;
		if (!dlv__stop && (long)d.njobs < cfg->deliver_max_in_flight)
			timeout = dlv__next_due_ms(&d);
		if (curl_multi_timeout(d.multi, &curl_timeout) == CURLM_OK && curl_timeout >= 0 &&
		    curl_timeout < timeout)
			timeout = curl_timeout;
		/* a notification the last statements read from the socket already would not wake the poll */
		if (db_notifications(d.db) != heard) {
			heard = db_notifications(d.db);
			work = true;
			continue;
		}
		if (db_ready(d.db))
			fds[1].fd = PQsocket(db_conn(d.db));
		curl_multi_poll(d.multi, fds, fds[1].fd >= 0 ? 2 : 1, (int)timeout, &numfds);
		if (fds[0].revents != 0) {
			char drain[64];

			while (read(dlv__stop_pipe[0], drain, sizeof drain) > 0) {
			}
		}
		/* a notification (a change committed, a subscription made or resumed; reading the data version
		 * drains what the server sent), or nothing at all: the time of a retry (or the idle tick) */
		if (fds[1].revents != 0) {
			db_data_version(d.db);
			work = true;
		} else if (numfds == 0) {
			work = true;
		}
	}
	while (d.njobs > 0)
		dlv__forget(&d, d.jobs[0]);
	free(d.jobs);
	close(dlv__stop_pipe[0]);
	close(dlv__stop_pipe[1]);
	curl_multi_cleanup(d.multi);
	curl_global_cleanup();
	db_close(d.db);
	log_info("deliver: stopped");
	return 0;
}
