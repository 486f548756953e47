/* Configuration: a declarative key table, libyaml's document API, errors with file:line:column. */
#include "config.h"
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

enum cfg__type { CFG__STRING, CFG__PATH, CFG__INT, CFG__MODE, CFG__LOG_LEVEL, CFG__URL, CFG__URL_TEMPLATE };

static const struct cfg__key {
	const char *name;
	enum cfg__type type;
	size_t offset;
	long min, max;       /* CFG__INT: range; CFG__STRING, CFG__PATH: min length */
	const char *fallback; /* default, as it would be written in the file */
	bool empty_ok;       /* "" is allowed whatever min says ("not set") */
} cfg__keys[] = {
	{"database", CFG__STRING, offsetof(struct cfg, database), 1, 0,
	 "postgresql://romtrack@127.0.0.1:15432/romtrack", false},
	{"database_timeout", CFG__INT, offsetof(struct cfg, database_timeout), 1, 300, "5", false},
	{"listen", CFG__PATH, offsetof(struct cfg, listen), 1, 0, "../.local/run/romtrack.sock", false},
	{"socket_mode", CFG__MODE, offsetof(struct cfg, socket_mode), 0, 0777, "0660", false},
	{"socket_group", CFG__STRING, offsetof(struct cfg, socket_group), 1, 0, "", true},
	{"backlog", CFG__INT, offsetof(struct cfg, backlog), 1, 65535, "128", false},
	{"workers", CFG__INT, offsetof(struct cfg, workers), 0, 256, "0", false},
	{"migrations", CFG__PATH, offsetof(struct cfg, migrations), 1, 0, "../sql", false},
	{"openapi", CFG__PATH, offsetof(struct cfg, openapi), 1, 0, "../openapi.yaml", false},
	{"log_level", CFG__LOG_LEVEL, offsetof(struct cfg, log_level), 0, 0, "info", false},
	{"shutdown_timeout", CFG__INT, offsetof(struct cfg, shutdown_timeout), 1, 3600, "30", false},
	{"request_timeout", CFG__INT, offsetof(struct cfg, request_timeout), 1, 3600, "30", false},
	{"cursor_secret", CFG__STRING, offsetof(struct cfg, cursor_secret), 16, 0, "", true},
	{"response_cache_mb", CFG__INT, offsetof(struct cfg, response_cache_mb), 0, 65536, "48", false},
	{"public_url", CFG__URL, offsetof(struct cfg, public_url), 0, 0, "", true},
	{"release_page_url", CFG__URL_TEMPLATE, offsetof(struct cfg, release_page_url), 0, 0, "", true},
	{"cache_max_age", CFG__INT, offsetof(struct cfg, cache_max_age), 0, 60, "60", false},
	{"max_requests", CFG__INT, offsetof(struct cfg, max_requests), 0, 1000000000, "1000000", false},
	{"max_rss_growth_mb", CFG__INT, offsetof(struct cfg, max_rss_growth_mb), 0, 65536, "0", false},
};

#define CFG__NKEYS (sizeof cfg__keys / sizeof cfg__keys[0])

const char *
cfg_default_path(void)
{
	return ROMTRACK_DEFAULT_CONFIG;
}

static void
cfg__error(char *err, size_t errlen, const char *file, const yaml_mark_t *mark, const char *fmt, ...)
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
cfg__set(struct cfg *cfg, const struct cfg__key *key, const char *value, const char *file,
	 const yaml_mark_t *mark, char *err, size_t errlen)
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
			cfg__error(err, errlen, file, mark, "%s must be at least %ld characters long",
				   key->name, key->min);
			return false;
		}
		free(*(char **)field);
		*(char **)field = key->type == CFG__PATH ? cfg__resolve(file, value) : strdup(value);
		return *(char **)field != NULL;
	case CFG__INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (value[0] == '\0' || *end != '\0' || errno != 0) {
			cfg__error(err, errlen, file, mark, "%s must be an integer, not \"%s\"", key->name,
				   value);
			return false;
		}
		if (n < key->min || n > key->max) {
			cfg__error(err, errlen, file, mark, "%s must be between %ld and %ld, not %ld",
				   key->name, key->min, key->max, n);
			return false;
		}
		*(long *)field = n;
		return true;
	case CFG__MODE:
		errno = 0;
		n = strtol(value, &end, 8);
		if (value[0] != '0' || *end != '\0' || errno != 0 || n < key->min || n > key->max) {
			cfg__error(err, errlen, file, mark,
				   "%s must be an octal permission such as \"0660\", not \"%s\"", key->name,
				   value);
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
	case CFG__LOG_LEVEL:
		if (log_level_parse(value) == LOG__MAX) {
			cfg__error(err, errlen, file, mark,
				   "%s must be one of error, warn, info, debug, not \"%s\"", key->name,
				   value);
			return false;
		}
		*(enum log_level *)field = log_level_parse(value);
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
cfg__read_document(struct cfg *cfg, yaml_document_t *doc, const char *file, char *err,
		   size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	bool seen[CFG__NKEYS] = {false};

	if (root == NULL)
		return true; /* empty file: all defaults */
	if (root->type != YAML_MAPPING_NODE) {
		cfg__error(err, errlen, file, &root->start_mark, "the configuration must be a mapping of keys to values");
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
			cfg__error(err, errlen, file, &v->start_mark, "%s must be a single value, not a %s",
				   name, v->type == YAML_MAPPING_NODE ? "mapping" : "list");
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
	memset(cfg, 0, sizeof *cfg);
}
