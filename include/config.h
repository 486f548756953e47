/* romtrack's configuration: conf/romtrack.yaml read with libyaml into a struct. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

struct cfg {
	char *database;         /* libpq conninfo or URL */
	char *listen;           /* unix socket path, or HOST:PORT */
	unsigned socket_mode;   /* permissions of a unix socket, from its creation on */
	char *socket_group;     /* group of a unix socket; empty = the master's group */
	long backlog;
	long workers;           /* 0 = two per CPU */
	char *migrations;       /* directory of NNN_name.sql */
	char *openapi;          /* the OpenAPI document /api/openapi.yaml serves */
	enum log_level log_level;
	long shutdown_timeout;  /* seconds */
	long request_timeout;   /* seconds to read a request and to write its response */
	char *cursor_secret;    /* empty = random per master start */
	long response_cache_mb; /* each worker's response cache; 0 = none */
	long max_requests;      /* a worker leaves after about this many requests; 0 = never */
	long max_rss_growth_mb; /* ...or once its resident size grew by this much; 0 = never */
};

/* Fills cfg with the defaults, then the keys of the file at path; then applies
 * $ROMTRACK_DATABASE_URL. On failure returns false and writes
 * "file:line:column: what is wrong" into err. Relative paths in the file are
 * resolved against the file's directory. */
bool cfg_load(struct cfg *cfg, const char *path, char *err, size_t errlen);
void cfg_free(struct cfg *cfg);
/* The path used when neither -c nor $ROMTRACK_CONFIG is given. */
const char *cfg_default_path(void);

#endif
