/* Fuzzes the configuration loader (config.c): what it accepts, written back, loads as the same configuration. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	unsetenv("ROMTRACK_DATABASE_URL");
	return 0;
}

/* A YAML double-quoted scalar of s (valid UTF-8: libyaml checked it), every character but printable
 * ASCII escaped (libyaml folds U+0085, U+2028 and U+2029 in a quoted scalar as line breaks). */
static void
fuzz__quoted(FILE *f, const char *key, const char *s)
{
	fprintf(f, "%s: \"", key);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		unsigned cp = *p;
		size_t n = cp < 0x80 ? 0 : cp < 0xe0 ? 1 : cp < 0xf0 ? 2 : 3;

		if (n > 0)
			cp &= 0x3f >> n;
		for (size_t i = 1; i <= n; i++)
			cp = cp << 6 | (p[i] & 0x3f);
		p += n + 1;
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp >= 0x20 && cp < 0x7f)
			fputc((int)cp, f);
		else
			fprintf(f, "\\U%08x", cp);
	}
	fputs("\"\n", f);
}

static void
fuzz__write(FILE *f, const struct cfg *c)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};

	fuzz__quoted(f, "database", c->database);
	fprintf(f, "database_timeout: %ld\n", c->database_timeout);
	fuzz__quoted(f, "listen", c->listen);
	fprintf(f, "socket_mode: \"0%o\"\n", c->socket_mode);
	fuzz__quoted(f, "socket_group", c->socket_group);
	fprintf(f, "backlog: %ld\nworkers: %ld\n", c->backlog, c->workers);
	fuzz__quoted(f, "migrations", c->migrations);
	fuzz__quoted(f, "openapi", c->openapi);
	fprintf(f, "log_level: %s\n", levels[c->log_level]);
	fprintf(f, "shutdown_timeout: %ld\nrequest_timeout: %ld\n", c->shutdown_timeout, c->request_timeout);
	fuzz__quoted(f, "cursor_secret", c->cursor_secret);
	fprintf(f, "response_cache_mb: %ld\n", c->response_cache_mb);
	fuzz__quoted(f, "public_url", c->public_url);
	fuzz__quoted(f, "release_page_url", c->release_page_url);
	fprintf(f, "cache_max_age: %ld\nmax_requests: %ld\nmax_rss_growth_mb: %ld\n", c->cache_max_age, c->max_requests,
		c->max_rss_growth_mb);
}

static bool
fuzz__same(const struct cfg *a, const struct cfg *b)
{
	return strcmp(a->database, b->database) == 0 && a->database_timeout == b->database_timeout &&
	       strcmp(a->listen, b->listen) == 0 && a->socket_mode == b->socket_mode &&
	       strcmp(a->socket_group, b->socket_group) == 0 && a->backlog == b->backlog && a->workers == b->workers &&
	       strcmp(a->migrations, b->migrations) == 0 && strcmp(a->openapi, b->openapi) == 0 &&
	       a->log_level == b->log_level && a->shutdown_timeout == b->shutdown_timeout &&
	       a->request_timeout == b->request_timeout && strcmp(a->cursor_secret, b->cursor_secret) == 0 &&
	       a->response_cache_mb == b->response_cache_mb && strcmp(a->public_url, b->public_url) == 0 &&
	       strcmp(a->release_page_url, b->release_page_url) == 0 && a->cache_max_age == b->cache_max_age &&
	       a->max_requests == b->max_requests && a->max_rss_growth_mb == b->max_rss_growth_mb;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg cfg, again;
	char err[1024] = "", *text = NULL;
	size_t len = 0;
	const char *path = fuzz_file("romtrack.yaml", data, size);
	FILE *f;

	if (!cfg_load(&cfg, path, err, sizeof err)) {
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
		FUZZ_CHECK(cfg.database == NULL && cfg.listen == NULL); /* freed on failure */
		return 0;
	}
	FUZZ_CHECK(cfg.database && cfg.listen && cfg.socket_group && cfg.migrations && cfg.openapi &&
		   cfg.cursor_secret && cfg.public_url && cfg.release_page_url);
	FUZZ_CHECK(cfg.database[0] != '\0' && cfg.listen[0] != '\0' && cfg.migrations[0] != '\0');
	FUZZ_CHECK(cfg.cursor_secret[0] == '\0' || strlen(cfg.cursor_secret) >= 16);
	FUZZ_CHECK(cfg.log_level < LOG__MAX && cfg.socket_mode <= 0777);
	FUZZ_CHECK(cfg.request_timeout >= 1 && cfg.shutdown_timeout >= 1 && cfg.backlog >= 1);
	FUZZ_CHECK(cfg.public_url[0] == '\0' || cfg.public_url[strlen(cfg.public_url) - 1] != '/');
	FUZZ_CHECK(strncmp(cfg.public_url, "http", cfg.public_url[0] ? 4 : 0) == 0);
	FUZZ_CHECK(strncmp(cfg.release_page_url, "http", cfg.release_page_url[0] ? 4 : 0) == 0);

	/* written back as YAML, read again: the same values */
	if ((f = open_memstream(&text, &len)) == NULL)
		abort();
	fuzz__write(f, &cfg);
	fclose(f);
	path = fuzz_file("romtrack.yaml", (const uint8_t *)text, len);
	if (!cfg_load(&again, path, err, sizeof err)) {
		fprintf(stderr, "written back, the configuration fails: %s\n%s", err, text);
		fuzz_fail(__FILE__, __LINE__, "the configuration written back loads");
	}
	FUZZ_CHECK(fuzz__same(&cfg, &again));
	cfg_free(&again);
	cfg_free(&cfg);
	free(text);
	return 0;
}
