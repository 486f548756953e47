/* Configuration files, data-driven: test_config FILE EXPECTED compares the loaded
 * configuration (or the error, without the file name) with EXPECTED's text; test_config
 * --defaults EXPECTED loads what `romtrack config defaults` prints instead (EXPECTED: the
 * defaults), and checks which keys a reload keeps. */
#include "check.h"

#include <stdlib.h>
#include <unistd.h>

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
	snprintf(out + strlen(out), len - strlen(out), "\npoll_interval=%ld", c->poll_interval);
	snprintf(out + strlen(out), len - strlen(out), "\nmax_body_kb=%ld", c->max_body_kb);
	snprintf(out + strlen(out), len - strlen(out), "\nwebhook_allow_networks=%s\nwebhook_allow_http=%ld",
		 c->webhook_allow_networks, c->webhook_allow_http);
	snprintf(out + strlen(out), len - strlen(out), "\nmetrics_allow_networks=%s", c->metrics_allow_networks);
	snprintf(out + strlen(out), len - strlen(out), "\naccess_log=%s", log_access_name(c->access_log));
	snprintf(out + strlen(out), len - strlen(out), "\nwrite_limit_per_minute=%ld\nwrite_burst=%ld",
		 c->write_limit_per_minute, c->write_burst);
	snprintf(out + strlen(out), len - strlen(out),
		 "\ndeliver=%ld\ndeliver_retry_schedule=%s\ndeliver_connect_timeout=%ld\ndeliver_timeout=%ld"
		 "\ndeliver_max_in_flight=%ld",
		 c->deliver, c->deliver_retry_schedule, c->deliver_connect_timeout, c->deliver_timeout,
		 c->deliver_max_in_flight);
}

static struct buf kept_log;

static void
kept(const char *key, const char *running_value, const char *fresh_value)
{
	buf_printf(&kept_log, "%s %s -> %s\n", key, running_value, fresh_value);
}

/* A reload's fresh configuration gets back the running value of each key that needs a restart. */
static void
check_restart_keys(const struct cfg *running)
{
	struct cfg fresh = *running; /* its strings are copied below */
	char want[1024];

	CHECK(running->socket_mode == 0660 && running->backlog == 128 && running->workers == 0);
	fresh.listen = strdup("/elsewhere.sock");
	fresh.socket_group = strdup(running->socket_group);
	fresh.database = strdup(running->database);
	fresh.migrations = strdup("/other/sql");
	fresh.openapi = strdup(running->openapi);
	fresh.cursor_secret = strdup(running->cursor_secret);
	fresh.public_url = strdup("https://roms.example.org");
	fresh.release_page_url = strdup(running->release_page_url);
	fresh.webhook_allow_networks = strdup(running->webhook_allow_networks);
	fresh.metrics_allow_networks = strdup(running->metrics_allow_networks);
	fresh.deliver_retry_schedule = strdup(running->deliver_retry_schedule);
	fresh.socket_mode = 0600;
	fresh.backlog = 7;
	fresh.workers = 3;
	fresh.log_level = LOG_DEBUG;
	CHECK_INT(cfg_keep_restart_keys(&fresh, running, kept), 3);
	snprintf(want, sizeof want,
		 "listen \"%s\" -> \"/elsewhere.sock\"\nsocket_mode \"0660\" -> \"0600\"\n"
		 "backlog 128 -> 7\n",
		 running->listen);
	CHECK_STR(kept_log.data, want);
	/* what the socket was made with is back; everything else stays new */
	CHECK_STR(fresh.listen, running->listen);
	CHECK(fresh.socket_mode == 0660 && fresh.backlog == 128);
	CHECK(fresh.workers == 3 && fresh.log_level == LOG_DEBUG);
	CHECK_STR(fresh.public_url, "https://roms.example.org");
	CHECK_STR(fresh.migrations, "/other/sql");
	/* nothing changed: nothing to say */
	CHECK_INT(cfg_keep_restart_keys(&fresh, running, kept), 0);
	cfg_free(&fresh);
	buf_free(&kept_log);
}

int
main(int argc, char **argv)
{
	struct buf want_text = {0};
	char err[512], got[4096], printed[] = "/tmp/romtrack-test-config-XXXXXX";
	const char *want, *file;
	bool defaults;
	struct cfg c;

	if (argc != 3) {
		fprintf(stderr, "usage: test_config CONFIG|--defaults EXPECTED\n");
		return 2;
	}
	unsetenv("ROMTRACK_DATABASE_URL");
	want = expected(argv[2], &want_text);
	CHECK(want != NULL);
	if (want == NULL)
		CHECK_DONE();
	file = argv[1];
	defaults = strcmp(argv[1], "--defaults") == 0;
	if (defaults) {
		int fd = mkstemp(printed);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

		CHECK(f != NULL);
		if (f == NULL)
			CHECK_DONE();
		cfg_print_defaults(f);
		CHECK(fclose(f) == 0);
		file = printed;
	}
	if (cfg_load(&c, file, err, sizeof err)) {
		dump(&c, file, got, sizeof got);
		if (defaults)
			check_restart_keys(&c);
		cfg_free(&c);
		CHECK_STR(got, want);
		/* The environment overrides the database of any valid file. */
		setenv("ROMTRACK_DATABASE_URL", "postgresql://env@127.0.0.1/db", 1);
		CHECK(cfg_load(&c, file, err, sizeof err));
		CHECK_STR(c.database, "postgresql://env@127.0.0.1/db");
		cfg_free(&c);
	} else {
		CHECK(!defaults);
		/* errors start with the file name given */
		CHECK(strncmp(err, argv[1], strlen(argv[1])) == 0);
		CHECK_STR(err + strlen(argv[1]), want);
	}
	if (defaults)
		unlink(printed);
	buf_free(&want_text);
	CHECK_DONE();
}
