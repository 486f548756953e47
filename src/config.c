/* Configuration: a declarative key table, libyaml's document API, errors with file:line:column. */
#include "config.h"

#include "url_guard.h"
#include "yaml_doc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#ifndef ROMTRACK_DEFAULT_CONFIG
#define ROMTRACK_DEFAULT_CONFIG "conf/romtrack.yaml"
#endif
#define CFG__MAX_BYTES (1024L * 1024) /* a configuration is a few hundred bytes */

enum cfg__type {
	CFG__STRING,
	CFG__PATH,
	CFG__INT,
	CFG__MODE,
	CFG__LOG_LEVEL,
	CFG__ACCESS_LOG,
	CFG__URL,
	CFG__URL_TEMPLATE,
	CFG__NETWORKS,
	CFG__SECONDS_LIST
};

/* When a changed value takes effect in `romtrack serve` (as PgBouncer's CF_NO_RELOAD). On a
 * reload the master forks a new generation of workers with the whole new configuration and
 * keeps its listening socket: what the socket was made with stays until a restart. */
enum cfg__effect {
	CFG__RELOAD,   /* a SIGHUP applies it (the master and the new workers run with it) */
	CFG__RESTART,  /* serve keeps the value it started with until it is restarted */
	CFG__UNSERVED, /* serve does not use it; each run of the command that does reads the file */
};

/* The one list of keys: type, field, limits, default, when a change takes effect, and what the
 * key means (`romtrack config defaults` prints them). */
static const struct cfg__key {
	const char *name;
	enum cfg__type type;
	size_t offset;
	long min, max;        /* CFG__INT: range; CFG__STRING, CFG__PATH: min length */
	const char *fallback; /* default, as it would be written in the file */
	bool empty_ok;        /* "" is allowed whatever min says ("not set") */
	enum cfg__effect effect;
	const char *doc;
} cfg__keys[] = {
	{"database", CFG__STRING, offsetof(struct cfg, database), 1, 0,
	 "postgresql://romtrack@127.0.0.1:15432/romtrack", false, CFG__RELOAD,
	 "libpq connection string or URL; $ROMTRACK_DATABASE_URL overrides it. The default is the "
	 "project-local PostgreSQL of script/server."},
	{"database_timeout", CFG__INT, offsetof(struct cfg, database_timeout), 1, 300, "5", false, CFG__RELOAD,
	 "Seconds: the longest the API waits on PostgreSQL in any one step (connecting, a statement, the "
	 "cache's Sync) before it answers 503 and drops the connection."},
	{"listen", CFG__PATH, offsetof(struct cfg, listen), 1, 0, "../.local/run/romtrack.sock", false, CFG__RESTART,
	 "The FastCGI socket nginx talks to: a unix socket path, or HOST:PORT."},
	{"socket_mode", CFG__MODE, offsetof(struct cfg, socket_mode), 0, 0777, "0660", false, CFG__RESTART,
	 "A unix socket's permissions, set from its creation on: only nginx's workers (and root) may open "
	 "it."},
	{"socket_group", CFG__STRING, offsetof(struct cfg, socket_group), 1, 0, "", true, CFG__RESTART,
	 "A unix socket's group (a name or a number): the group nginx's workers run as (www-data for "
	 "Debian's nginx; script/nginx-conf runs them as the user who runs it, so empty fits). Empty: "
	 "romtrack's own group. romtrack must be root or a member of the group."},
	{"backlog", CFG__INT, offsetof(struct cfg, backlog), 1, 65535, "128", false, CFG__RESTART,
	 "The listening socket's backlog: connections the kernel queues until a worker accepts them."},
	{"workers", CFG__INT, offsetof(struct cfg, workers), 0, 256, "0", false, CFG__RELOAD,
	 "Worker processes; 0 = two per CPU."},
	{"migrations", CFG__PATH, offsetof(struct cfg, migrations), 1, 0, "../sql", false, CFG__UNSERVED,
	 "The folder of the migration files (NNN_name.sql) that `romtrack migrate` applies."},
	{"openapi", CFG__PATH, offsetof(struct cfg, openapi), 1, 0, "../openapi.yaml", false, CFG__RELOAD,
	 "The OpenAPI document /api/openapi.yaml serves, read when a worker starts."},
	{"log_level", CFG__LOG_LEVEL, offsetof(struct cfg, log_level), 0, 0, "info", false, CFG__RELOAD,
	 "What is logged: error, warn, info or debug (debug logs every request)."},
	{"access_log", CFG__ACCESS_LOG, offsetof(struct cfg, access_log), 0, 0, "logfmt", false, CFG__RELOAD,
	 "A line per request in the log: logfmt (time=... request_id=... route=... status=...), json (one "
	 "object a line) or off. Time, request id, method, path (never the query), route, status, duration, "
	 "response cache hit or miss, bytes, and the token's name for a request with one; never a secret."},
	{"shutdown_timeout", CFG__INT, offsetof(struct cfg, shutdown_timeout), 1, 3600, "30", false, CFG__RELOAD,
	 "Seconds a worker may take to finish its request when stopping, and a reload's new workers to get "
	 "ready (connected to the database); a reload whose workers are not ready by then is abandoned."},
	{"request_timeout", CFG__INT, offsetof(struct cfg, request_timeout), 1, 3600, "30", false, CFG__RELOAD,
	 "Seconds a FastCGI connection may last, from accept to close (reading the request, writing the "
	 "response)."},
	{"cursor_secret", CFG__STRING, offsetof(struct cfg, cursor_secret), 16, 0, "", true, CFG__RELOAD,
	 "Signs pagination cursors. Empty: a random key per start of `romtrack serve` (cursors then stop "
	 "working across restarts)."},
	{"response_cache_mb", CFG__INT, offsetof(struct cfg, response_cache_mb), 0, 65536, "48", false, CFG__RELOAD,
	 "Each worker's cache of whole responses, in MB (emptied whenever the data changes); 0 = none."},
	{"public_url", CFG__URL, offsetof(struct cfg, public_url), 0, 0, "", true, CFG__RELOAD,
	 "The address clients reach romtrack at, behind any proxy (e.g. \"https://roms.example.org\", a path "
	 "allowed): the feeds' links start with it. Empty: from each request's Host header, when it is a "
	 "plain host[:port] (X-Forwarded-* ignored)."},
	{"release_page_url", CFG__URL_TEMPLATE, offsetof(struct cfg, release_page_url), 0, 0, "", true, CFG__RELOAD,
	 "A website's page for a release, the link of each feed entry, e.g. "
	 "\"https://site/miui/{codename}/{branch}/{version}/\". Empty: the entry links to the package's "
	 "download."},
	{"cache_max_age", CFG__INT, offsetof(struct cfg, cache_max_age), 0, 60, "60", false, CFG__RELOAD,
	 "Seconds any cache (Varnish, a CDN, a browser) may keep a data response before revalidating "
	 "(Cache-Control max-age; 0 = no-cache): releases are corrected after publication. Responses also "
	 "allow serving stale for half as long while revalidating."},
	{"max_requests", CFG__INT, offsetof(struct cfg, max_requests), 0, 1000000000, "1000000", false, CFG__RELOAD,
	 "A worker leaves between two requests, and the master replaces it, after this many requests "
	 "(plus up to a tenth); 0 = never."},
	{"max_rss_growth_mb", CFG__INT, offsetof(struct cfg, max_rss_growth_mb), 0, 65536, "0", false, CFG__RELOAD,
	 "A worker leaves between two requests, and the master replaces it, once its resident size grew by "
	 "this many MB since it was ready (the response cache counts: set it above response_cache_mb); "
	 "0 = never."},
	{"poll_interval", CFG__INT, offsetof(struct cfg, poll_interval), 1, 86400, "60", false, CFG__RELOAD,
	 "Seconds the change feed (/api/changes) tells pollers to wait before they ask again (its "
	 "X-Poll-Interval header)."},
	{"max_body_kb", CFG__INT, offsetof(struct cfg, max_body_kb), 1, 65536, "1024", false, CFG__RELOAD,
	 "The largest request body a write may send, in kB: a larger one gets 413 before it is read. nginx "
	 "enforces the same limit (client_max_body_size): give script/nginx-conf --max-body-kb the same value "
	 "(script/server does)."},
	{"write_limit_per_minute", CFG__INT, offsetof(struct cfg, write_limit_per_minute), 0, 100000, "120", false,
	 CFG__RELOAD,
	 "Writes a token may make through the API a minute (each worker and host draws from the same bucket, in "
	 "PostgreSQL); more get 429 with Retry-After. 0: no limit."},
	{"write_burst", CFG__INT, offsetof(struct cfg, write_burst), 1, 100000, "60", false, CFG__RELOAD,
	 "Writes a token may make at once, before write_limit_per_minute paces it."},
	{"metrics_allow_networks", CFG__NETWORKS, offsetof(struct cfg, metrics_allow_networks), 0, 0, "127.0.0.0/8,::1",
	 true, CFG__RELOAD,
	 "Networks whose clients may read GET /metrics (Prometheus' text format; the address nginx saw), "
	 "comma-separated; any other gets 403. Empty: nobody."},
	{"webhook_allow_networks", CFG__NETWORKS, offsetof(struct cfg, webhook_allow_networks), 0, 0, "", true,
	 CFG__RELOAD,
	 "Networks a subscription's URL may reach although they are romtrack's own (loopback, private, "
	 "link-local...), comma-separated, e.g. \"127.0.0.0/8,::1\" for a receiver on loopback in tests. "
	 "Empty: none."},
	{"webhook_allow_http", CFG__INT, offsetof(struct cfg, webhook_allow_http), 0, 1, "0", false, CFG__RELOAD,
	 "1 lets a subscription's URL be http:// (tests); 0: https:// only."},
	{"deliver", CFG__INT, offsetof(struct cfg, deliver), 0, 1, "0", false, CFG__RELOAD,
	 "1: `romtrack serve` runs `romtrack deliver` (webhooks) as a child, restarts it when it dies and "
	 "replaces it on a reload; 0: run `romtrack deliver` apart, or not at all."},
	{"deliver_retry_schedule", CFG__SECONDS_LIST, offsetof(struct cfg, deliver_retry_schedule), 0, 0,
	 "5,300,1800,7200,18000,36000,50400,72000,86400", false, CFG__UNSERVED,
	 "Seconds `romtrack deliver` waits before each retry of a failed delivery (the Standard Webhooks "
	 "schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h), each with up to a tenth of jitter; "
	 "after the last, the subscription is disabled. A 429 or 503 with Retry-After waits that long instead."},
	{"deliver_connect_timeout", CFG__INT, offsetof(struct cfg, deliver_connect_timeout), 1, 60, "5", false,
	 CFG__UNSERVED, "Seconds a delivery may take to connect to its receiver."},
	{"deliver_timeout", CFG__INT, offsetof(struct cfg, deliver_timeout), 1, 300, "15", false, CFG__UNSERVED,
	 "Seconds a delivery may take in all (connect, send, the receiver's answer)."},
	{"deliver_max_in_flight", CFG__INT, offsetof(struct cfg, deliver_max_in_flight), 1, 1024, "256", false,
	 CFG__UNSERVED, "Subscriptions one `romtrack deliver` sends to at once (one delivery in flight each)."},
};

#define CFG__NKEYS (sizeof cfg__keys / sizeof cfg__keys[0])

bool
cfg_seconds_list_parse(const char *text, long *out, size_t max, size_t *n)
{
	size_t count = 0;
	const char *p = text;

	for (;;) {
		char *end;
		long v;

		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		v = strtol(p, &end, 10);
		if (v < 1 || v > 604800 || count == CFG_SECONDS_LIST_MAX)
			return false;
		if (out != NULL) {
			if (count == max)
				return false;
			out[count] = v;
		}
		count++;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return false;
	}
	if (n != NULL)
		*n = count;
	return true;
}

const char *
cfg_default_path(void)
{
	return ROMTRACK_DEFAULT_CONFIG;
}

static void cfg__error(char *err, size_t errlen, const char *file, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void
cfg__error(char *err, size_t errlen, const char *file, const yaml_mark_t *mark, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (mark != NULL)
		n = snprintf(err, errlen, "%s:%zu:%zu: ", file, mark->line + 1, mark->column + 1);
	else
		n = snprintf(err, errlen, "%s: ", file);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* A path relative to the configuration file's directory becomes absolute-ish: dir/path. */
static char *
cfg__resolve(const char *file, const char *value)
{
	const char *slash = strrchr(file, '/');
	size_t dirlen;
	char *out;

	if (value[0] == '/' || value[0] == '\0' || slash == NULL || strchr(value, ':') != NULL)
		return strdup(value);
	dirlen = (size_t)(slash - file);
	out = malloc(dirlen + 1 + strlen(value) + 1);
	if (out != NULL)
		sprintf(out, "%.*s/%s", (int)dirlen, file, value);
	return out;
}

/* Why value is not an absolute http(s) URL that romtrack can write into a feed (NULL: it
 * is): printable ASCII without blanks, quotes or angle brackets, a host, and, for a base
 * URL, no query or fragment; a template's braces must enclose a known placeholder. */
static const char *
cfg__url_problem(const char *value, bool template)
{
	static const char *const fields[] = {CFG_RELEASE_PAGE_FIELDS};
	const char *host;

	if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
		return "must start with http:// or https://";
	host = strstr(value, "://") + 3;
	if (*host == '\0' || *host == '/' || *host == '{')
		return "must name a host after the scheme";
	for (const char *p = value; *p; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("\"'<>\\^`|", *p) != NULL)
			return "must be printable ASCII without blanks, quotes, angle brackets, \\, ^, ` or |";
		if (!template && (*p == '?' || *p == '#' || *p == '{' || *p == '}'))
			return "must not have a query, a fragment or braces";
		if (template && *p == '}')
			return "has a } without its {";
		if (template && *p == '{') {
			const char *close = strchr(p, '}');
			bool known = false;

			for (size_t i = 0; close != NULL && i < sizeof fields / sizeof fields[0]; i++)
				known |= strlen(fields[i]) == (size_t)(close - p - 1) &&
					 strncmp(fields[i], p + 1, strlen(fields[i])) == 0;
			if (!known)
				return "has a placeholder other than {codename}, {variant}, {region}, {branch}, {type}, "
				       "{version}, {id}, {filename}";
			p = close;
		}
	}
	return NULL;
}

/* Stores one scalar into cfg according to its key; false with err filled on a bad value. */
static bool
cfg__set(struct cfg *cfg, const struct cfg__key *key, const char *value, const char *file, const yaml_mark_t *mark,
	 char *err, size_t errlen)
{
	void *field = (char *)cfg + key->offset;
	char *end;
	long n;

	switch (key->type) {
	case CFG__STRING:
	case CFG__PATH:
		if (value[0] == '\0' && !key->empty_ok && key->min > 0) {
			cfg__error(err, errlen, file, mark, "%s must not be empty", key->name);
			return false;
		}
		if (value[0] != '\0' && strlen(value) < (size_t)key->min) {
			cfg__error(err, errlen, file, mark, "%s must be at least %ld characters long", key->name,
				   key->min);
			return false;
		}
		free(*(char **)field);
		*(char **)field = key->type == CFG__PATH ? cfg__resolve(file, value) : strdup(value);
		return *(char **)field != NULL;
	case CFG__INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (value[0] == '\0' || *end != '\0' || errno != 0) {
			cfg__error(err, errlen, file, mark, "%s must be an integer, not \"%s\"", key->name, value);
			return false;
		}
		if (n < key->min || n > key->max) {
			cfg__error(err, errlen, file, mark, "%s must be between %ld and %ld, not %ld", key->name,
				   key->min, key->max, n);
			return false;
		}
		*(long *)field = n;
		return true;
	case CFG__MODE:
		errno = 0;
		n = strtol(value, &end, 8);
		if (value[0] != '0' || *end != '\0' || errno != 0 || n < key->min || n > key->max) {
			cfg__error(err, errlen, file, mark,
				   "%s must be an octal permission such as \"0660\", not \"%s\"", key->name, value);
			return false;
		}
		*(unsigned *)field = (unsigned)n;
		return true;
	case CFG__URL:
	case CFG__URL_TEMPLATE:
		if (value[0] != '\0') {
			const char *problem = cfg__url_problem(value, key->type == CFG__URL_TEMPLATE);

			if (problem != NULL) {
				cfg__error(err, errlen, file, mark, "%s %s, not \"%s\"", key->name, problem, value);
				return false;
			}
		}
		free(*(char **)field);
		*(char **)field = strdup(value);
		/* a base URL is joined with paths that start with '/' */
		if (*(char **)field != NULL && key->type == CFG__URL)
			for (size_t len = strlen(value); len > 0 && (*(char **)field)[len - 1] == '/'; len--)
				(*(char **)field)[len - 1] = '\0';
		return *(char **)field != NULL;
	case CFG__SECONDS_LIST:
		if (!cfg_seconds_list_parse(value, NULL, 0, NULL)) {
			cfg__error(
				err, errlen, file, mark,
				"%s must be 1 to %d numbers of seconds (1 to 604800) separated by commas, not \"%s\"",
				key->name, CFG_SECONDS_LIST_MAX, value);
			return false;
		}
		free(*(char **)field);
		*(char **)field = strdup(value);
		return *(char **)field != NULL;
	case CFG__NETWORKS:
		if (!url_networks_parse(value, NULL, 0, NULL)) {
			cfg__error(err, errlen, file, mark,
				   "%s must be networks separated by commas (ADDRESS or ADDRESS/PREFIX, IPv4 or IPv6), "
				   "not \"%s\"",
				   key->name, value);
			return false;
		}
		free(*(char **)field);
		*(char **)field = strdup(value);
		return *(char **)field != NULL;
	case CFG__LOG_LEVEL:
		if (log_level_parse(value) == LOG__MAX) {
			cfg__error(err, errlen, file, mark, "%s must be one of error, warn, info, debug, not \"%s\"",
				   key->name, value);
			return false;
		}
		*(enum log_level *)field = log_level_parse(value);
		return true;
	case CFG__ACCESS_LOG:
		if (log_access_parse(value) == LOG_ACCESS__MAX) {
			cfg__error(err, errlen, file, mark, "%s must be one of off, logfmt, json, not \"%s\"",
				   key->name, value);
			return false;
		}
		*(enum log_access *)field = log_access_parse(value);
		return true;
	}
	return false;
}

static const struct cfg__key *
cfg__find(const char *name)
{
	for (size_t i = 0; i < CFG__NKEYS; i++)
		if (strcmp(cfg__keys[i].name, name) == 0)
			return &cfg__keys[i];
	return NULL;
}

static bool
cfg__defaults(struct cfg *cfg, const char *file, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < CFG__NKEYS; i++)
		if (!cfg__set(cfg, &cfg__keys[i], cfg__keys[i].fallback, file, NULL, err, errlen))
			return false;
	return true;
}

static bool
cfg__read_document(struct cfg *cfg, yaml_document_t *doc, const char *file, char *err, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	bool seen[CFG__NKEYS] = {false};

	if (root == NULL)
		return true; /* empty file: all defaults */
	if (root->type != YAML_MAPPING_NODE) {
		cfg__error(err, errlen, file, &root->start_mark,
			   "the configuration must be a mapping of keys to values");
		return false;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const struct cfg__key *key;
		const char *name;

		if (k->type != YAML_SCALAR_NODE) {
			cfg__error(err, errlen, file, &k->start_mark, "keys must be plain names");
			return false;
		}
		name = (const char *)k->data.scalar.value;
		key = cfg__find(name);
		if (key == NULL) {
			cfg__error(err, errlen, file, &k->start_mark, "unknown key \"%s\"", name);
			return false;
		}
		if (seen[key - cfg__keys]) {
			cfg__error(err, errlen, file, &k->start_mark, "key \"%s\" is given twice", name);
			return false;
		}
		seen[key - cfg__keys] = true;
		if (v->type != YAML_SCALAR_NODE) {
			cfg__error(err, errlen, file, &v->start_mark, "%s must be a single value, not a %s", name,
				   v->type == YAML_MAPPING_NODE ? "mapping" : "list");
			return false;
		}
		if (!cfg__set(cfg, key, (const char *)v->data.scalar.value, file, &v->start_mark, err, errlen))
			return false;
	}
	return true;
}

bool
cfg_load(struct cfg *cfg, const char *path, char *err, size_t errlen)
{
	yaml_document_t doc;
	const char *env;
	bool ok;

	if (!cfg__defaults(cfg, path, err, errlen))
		return false;
	if (!yaml_doc_load(path, CFG__MAX_BYTES, &doc, err, errlen)) {
		cfg_free(cfg);
		return false;
	}
	ok = cfg__read_document(cfg, &doc, path, err, errlen);
	yaml_document_delete(&doc);
	if (!ok) {
		cfg_free(cfg);
		return false;
	}
	env = getenv("ROMTRACK_DATABASE_URL");
	if (env != NULL && env[0] != '\0') {
		free(cfg->database);
		cfg->database = strdup(env);
	}
	return true;
}

void
cfg_free(struct cfg *cfg)
{
	free(cfg->database);
	free(cfg->listen);
	free(cfg->socket_group);
	free(cfg->migrations);
	free(cfg->openapi);
	free(cfg->cursor_secret);
	free(cfg->public_url);
	free(cfg->release_page_url);
	free(cfg->webhook_allow_networks);
	free(cfg->metrics_allow_networks);
	free(cfg->deliver_retry_schedule);
	memset(cfg, 0, sizeof *cfg);
}

/* Whether a and b hold the same value of key. */
static bool
cfg__same(const struct cfg *a, const struct cfg *b, const struct cfg__key *key)
{
	const void *x = (const char *)a + key->offset, *y = (const char *)b + key->offset;

	switch (key->type) {
	case CFG__STRING:
	case CFG__PATH:
	case CFG__URL:
	case CFG__URL_TEMPLATE:
	case CFG__NETWORKS:
	case CFG__SECONDS_LIST: return strcmp(*(char *const *)x, *(char *const *)y) == 0;
	case CFG__INT: return *(const long *)x == *(const long *)y;
	case CFG__MODE: return *(const unsigned *)x == *(const unsigned *)y;
	case CFG__LOG_LEVEL: return *(const enum log_level *)x == *(const enum log_level *)y;
	case CFG__ACCESS_LOG: return *(const enum log_access *)x == *(const enum log_access *)y;
	}
	return false;
}

/* Gives dst src's value of key. */
static void
cfg__copy(struct cfg *dst, const struct cfg *src, const struct cfg__key *key)
{
	void *x = (char *)dst + key->offset;
	const void *y = (const char *)src + key->offset;

	switch (key->type) {
	case CFG__STRING:
	case CFG__PATH:
	case CFG__URL:
	case CFG__URL_TEMPLATE:
	case CFG__NETWORKS:
	case CFG__SECONDS_LIST:
		free(*(char **)x);
		if ((*(char **)x = strdup(*(char *const *)y)) == NULL)
			abort(); /* as at any allocation of the master: nothing sensible is left to do */
		return;
	case CFG__INT: *(long *)x = *(const long *)y; return;
	case CFG__MODE: *(unsigned *)x = *(const unsigned *)y; return;
	case CFG__LOG_LEVEL: *(enum log_level *)x = *(const enum log_level *)y; return;
	case CFG__ACCESS_LOG: *(enum log_access *)x = *(const enum log_access *)y; return;
	}
}

/* The value of key in cfg as it would be written in the file (strings quoted), for the log. */
static const char *
cfg__format(const struct cfg *cfg, const struct cfg__key *key, char *buf, size_t len)
{
	const void *field = (const char *)cfg + key->offset;

	switch (key->type) {
	case CFG__STRING:
	case CFG__PATH:
	case CFG__URL:
	case CFG__URL_TEMPLATE:
	case CFG__NETWORKS:
	case CFG__SECONDS_LIST: snprintf(buf, len, "\"%s\"", *(char *const *)field); break;
	case CFG__INT: snprintf(buf, len, "%ld", *(const long *)field); break;
	case CFG__MODE: snprintf(buf, len, "\"%04o\"", *(const unsigned *)field); break;
	case CFG__LOG_LEVEL: snprintf(buf, len, "%s", log_level_name(*(const enum log_level *)field)); break;
	case CFG__ACCESS_LOG: snprintf(buf, len, "%s", log_access_name(*(const enum log_access *)field)); break;
	}
	return buf;
}

bool
cfg_get(const struct cfg *cfg, const char *name, char *buf, size_t len)
{
	const struct cfg__key *key = cfg__find(name);
	const void *field;

	if (key == NULL)
		return false;
	field = (const char *)cfg + key->offset;
	switch (key->type) {
	case CFG__STRING:
	case CFG__PATH:
	case CFG__URL:
	case CFG__URL_TEMPLATE:
	case CFG__NETWORKS:
	case CFG__SECONDS_LIST: snprintf(buf, len, "%s", *(char *const *)field); break;
	case CFG__MODE: snprintf(buf, len, "%04o", *(const unsigned *)field); break;
	default: cfg__format(cfg, key, buf, len); break;
	}
	return true;
}

size_t
cfg_keep_restart_keys(struct cfg *fresh, const struct cfg *running,
		      void (*kept)(const char *key, const char *running_value, const char *fresh_value))
{
	char was[512], now[512];
	size_t n = 0;

	for (size_t i = 0; i < CFG__NKEYS; i++) {
		const struct cfg__key *key = &cfg__keys[i];

		if (key->effect != CFG__RESTART || cfg__same(fresh, running, key))
			continue;
		if (kept != NULL)
			kept(key->name, cfg__format(running, key, was, sizeof was),
			     cfg__format(fresh, key, now, sizeof now));
		cfg__copy(fresh, running, key);
		n++;
	}
	return n;
}

/* What values key takes, as a sentence's start ("An integer, 1..300"). */
static void
cfg__describe_type(const struct cfg__key *key, char *buf, size_t len)
{
	switch (key->type) {
	case CFG__STRING:
		if (key->min > 1)
			snprintf(buf, len, "Text of at least %ld characters%s", key->min,
				 key->empty_ok ? ", or empty" : "");
		else
			snprintf(buf, len, "Text%s", key->empty_ok ? ", or empty" : ", not empty");
		return;
	case CFG__PATH: snprintf(buf, len, "A path (a relative one is relative to this file's folder)"); return;
	case CFG__INT: snprintf(buf, len, "An integer, %ld..%ld", key->min, key->max); return;
	case CFG__MODE:
		snprintf(buf, len, "An octal permission in quotes, at most \"%04lo\"", (unsigned long)key->max);
		return;
	case CFG__LOG_LEVEL: snprintf(buf, len, "One of error, warn, info, debug"); return;
	case CFG__ACCESS_LOG: snprintf(buf, len, "One of off, logfmt, json"); return;
	case CFG__URL: snprintf(buf, len, "An absolute http(s) URL without query or fragment, or empty"); return;
	case CFG__URL_TEMPLATE:
		snprintf(buf, len,
			 "An absolute http(s) URL with placeholders among {codename}, {variant}, "
			 "{region}, {branch}, {type}, {version}, {id}, {filename}, or empty");
		return;
	case CFG__NETWORKS:
		snprintf(buf, len, "Networks (IPv4 or IPv6 ADDRESS or ADDRESS/PREFIX) separated by commas, or empty");
		return;
	case CFG__SECONDS_LIST:
		snprintf(buf, len, "1 to %d numbers of seconds (1..604800) separated by commas", CFG_SECONDS_LIST_MAX);
		return;
	}
}

/* Writes text as "# " comment lines of at most width columns, broken at spaces. */
static void
cfg__comment(FILE *out, const char *text, size_t width)
{
	while (*text != '\0') {
		size_t n = strlen(text), cut = n;

		if (n + 2 > width) {
			cut = width - 2;
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (cut == 0) /* one word longer than the line */
				cut = strcspn(text, " ");
		}
		fprintf(out, "# %.*s\n", (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
}

void
cfg_print_defaults(FILE *out)
{
	static const char *const effects[] = {
		[CFG__RELOAD] = "a reload applies a change",
		[CFG__RESTART] = "a change needs a restart",
		[CFG__UNSERVED] = "not used by romtrack serve",
	};
	char line[512], type[256];

	cfg__comment(out,
		     "romtrack's configuration keys with their defaults, printed by `romtrack config defaults` from "
		     "the key table of src/config.c. Every key is optional: a key left out has the value shown. "
		     "The file is YAML; relative paths are relative to its folder. A reload (SIGHUP to romtrack "
		     "serve) applies every change but those that need a restart: it logs each of those and keeps "
		     "the running value.",
		     100);
	for (size_t i = 0; i < CFG__NKEYS; i++) {
		const struct cfg__key *key = &cfg__keys[i];

		cfg__describe_type(key, type, sizeof type);
		fputc('\n', out);
		cfg__comment(out, key->doc, 100);
		snprintf(line, sizeof line, "%s; %s.", type, effects[key->effect]);
		cfg__comment(out, line, 100);
		if (key->type == CFG__INT) {
			fprintf(out, "%s: %s\n", key->name, key->fallback);
			continue;
		}
		fprintf(out, "%s: \"", key->name);
		for (const char *p = key->fallback; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', out);
			fputc(*p, out);
		}
		fputs("\"\n", out);
	}
}
