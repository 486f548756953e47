/* Configuration files, data-driven: test_config FILE EXPECTED compares the loaded
 * configuration (or the error, without the file name) with EXPECTED's text. */
#include "check.h"

#include <stdlib.h>

#include "buf.h"
#include "config.h"

/* The expected text of a case, without its trailing newlines; NULL when it cannot be read. */
static char *
expected(const char *path, struct buf *b)
{
	char err[512];

	if (!buf_read_file(b, path, 65536, err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	while (b->len > 0 && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
	return b->data;
}

/* The loaded configuration as "key=value" lines; paths shown relative to the file's directory. */
static void
dump(const struct cfg *c, const char *file, char *out, size_t len)
{
	const char *slash = strrchr(file, '/');
	size_t dirlen = slash ? (size_t)(slash - file) + 1 : 0;
	const char *listen = strncmp(c->listen, file, dirlen) == 0 ? c->listen + dirlen : c->listen;
	const char *migrations = strncmp(c->migrations, file, dirlen) == 0 ? c->migrations + dirlen : c->migrations;
	const char *openapi = strncmp(c->openapi, file, dirlen) == 0 ? c->openapi + dirlen : c->openapi;

	snprintf(out, len,
		 "database=%s\nlisten=%s\nsocket_mode=%04o\nsocket_group=%s\nbacklog=%ld\nworkers=%ld\nmigrations=%s\n"
		 "openapi=%s\nlog_level=%d\nshutdown_timeout=%ld\nrequest_timeout=%ld\ncursor_secret=%s\n"
		 "response_cache_mb=%ld\nmax_requests=%ld\nmax_rss_growth_mb=%ld",
		 c->database, listen, c->socket_mode, c->socket_group, c->backlog, c->workers, migrations, openapi,
		 (int)c->log_level, c->shutdown_timeout, c->request_timeout, c->cursor_secret, c->response_cache_mb,
		 c->max_requests, c->max_rss_growth_mb);
	snprintf(out + strlen(out), len - strlen(out), "\npublic_url=%s\nrelease_page_url=%s\ncache_max_age=%ld",
		 c->public_url, c->release_page_url, c->cache_max_age);
	snprintf(out + strlen(out), len - strlen(out), "\ndatabase_timeout=%ld", c->database_timeout);
}

int
main(int argc, char **argv)
{
	struct buf want_text = {0};
	struct cfg c;
	char err[512], got[2048];
	const char *want;

	if (argc != 3) {
		fprintf(stderr, "usage: test_config CONFIG EXPECTED\n");
		return 2;
	}
	unsetenv("ROMTRACK_DATABASE_URL");
	want = expected(argv[2], &want_text);
	CHECK(want != NULL);
	if (want == NULL)
		CHECK_DONE();
	if (cfg_load(&c, argv[1], err, sizeof err)) {
		dump(&c, argv[1], got, sizeof got);
		cfg_free(&c);
		CHECK_STR(got, want);
		/* The environment overrides the database of any valid file. */
		setenv("ROMTRACK_DATABASE_URL", "postgresql://env@127.0.0.1/db", 1);
		CHECK(cfg_load(&c, argv[1], err, sizeof err));
		CHECK_STR(c.database, "postgresql://env@127.0.0.1/db");
		cfg_free(&c);
	} else {
		/* errors start with the file name given */
		CHECK(strncmp(err, argv[1], strlen(argv[1])) == 0);
		CHECK_STR(err + strlen(argv[1]), want);
	}
	buf_free(&want_text);
	CHECK_DONE();
}
