/* romtrack's configuration: conf/romtrack.yaml read with libyaml into a struct. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "log.h"

struct cfg {
	char *database;        /* libpq conninfo or URL */
	long database_timeout; /* seconds: the longest wait on PostgreSQL of any one step */
	char *listen;          /* unix socket path, or HOST:PORT */
	unsigned socket_mode;  /* permissions of a unix socket, from its creation on */
	char *socket_group;    /* group of a unix socket; empty = the master's group */
	long backlog;
	long workers;     /* 0 = two per CPU */
	char *migrations; /* directory of NNN_name.sql */
	char *openapi;    /* the OpenAPI document /api/openapi.yaml serves */
	enum log_level log_level;
	long shutdown_timeout;  /* seconds */
	long request_timeout;   /* seconds to read a request and to write its response */
	char *cursor_secret;    /* empty = random per master start */
	long response_cache_mb; /* each worker's response cache; 0 = none */
	char *public_url;       /* "scheme://host[:port][/path]" clients reach romtrack at; "" = from each request */
	char *release_page_url; /* a website's page for a release, with {placeholders}; "" = none */
	long cache_max_age;     /* seconds any cache may keep a data response (Cache-Control max-age) */
	long max_requests;      /* a worker leaves after about this many requests; 0 = never */
	long max_rss_growth_mb; /* ...or once its resident size grew by this much; 0 = never */
	long poll_interval;     /* seconds the change feed tells pollers to wait (X-Poll-Interval) */
	long max_body_kb;       /* the largest request body, in kB (nginx's client_max_body_size too) */
	char *webhook_allow_networks; /* networks subscriptions may reach although special-purpose, "a,b" */
	char *metrics_allow_networks; /* networks whose clients may read /metrics, "a,b" */
	enum log_access access_log;   /* a line per request: off, logfmt, json */
	long write_limit_per_minute;  /* writes a token may make a minute; 0: no limit */
	long write_burst;             /* writes a token may make at once */
	long webhook_allow_http;      /* 1: http:// subscription URLs allowed */
	long deliver;                 /* 1: serve runs `romtrack deliver` as a child */
	char *deliver_retry_schedule; /* seconds before each retry, "5,300,..." (cfg_seconds_list_parse) */
	long deliver_connect_timeout; /* seconds */
	long deliver_timeout;         /* seconds, a whole delivery */
	long deliver_max_in_flight;
};

/* The most retries deliver_retry_schedule may list. */
#define CFG_SECONDS_LIST_MAX 32
/* Parses "5, 300,1800": 1 to CFG_SECONDS_LIST_MAX numbers of seconds, each 1 to 604800 (a week), into
 * out[0..max) and *n (out may be NULL to only check). */
bool cfg_seconds_list_parse(const char *text, long *out, size_t max, size_t *n);

/* The placeholders release_page_url may hold, each replaced by the release's value
 * (percent-encoded) in the feeds. */
#define CFG_RELEASE_PAGE_FIELDS "codename", "variant", "region", "branch", "type", "version", "id", "filename"

/* Fills cfg with the defaults, then the keys of the file at path; then applies
 * $ROMTRACK_DATABASE_URL. On failure returns false and writes
 * "file:line:column: what is wrong" into err. Relative paths in the file are
 * resolved against the file's directory. */
bool cfg_load(struct cfg *cfg, const char *path, char *err, size_t errlen);
void cfg_free(struct cfg *cfg);
/* The path used when neither -c nor $ROMTRACK_CONFIG is given. */
const char *cfg_default_path(void);

/* Writes every key with its default, what it means, the values it takes and whether a reload
 * applies it, as a YAML configuration file (comments and values) that cfg_load reads back to
 * the defaults. The key table in config.c is the one place defaults are kept. */
void cfg_print_defaults(FILE *out);

/* The value of the key name in cfg as `romtrack config get` prints it (strings unquoted, a mode
 * in octal) into buf; false when no key has that name. */
bool cfg_get(const struct cfg *cfg, const char *name, char *buf, size_t len);

/* A reload: for each key that serve only applies on a restart and whose value in fresh differs
 * from running's, calls kept(key, running value, fresh value) (as written in a file, strings
 * quoted) and gives fresh running's value back, so that fresh says what is in effect. Returns
 * how many keys it kept. */
size_t cfg_keep_restart_keys(struct cfg *fresh, const struct cfg *running,
			     void (*kept)(const char *key, const char *running_value, const char *fresh_value));

#endif
