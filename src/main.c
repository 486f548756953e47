/* The romtrack program: option parsing and the table of subcommands. */
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "deliver.h"
#include "export.h"
#include "handlers.h"
#include "import.h"
#include "log.h"
#include "master.h"
#include "migrate.h"
#include "params.h"
#include "router.h"
#include "token.h"

#ifndef ROMTRACK_VERSION
#define ROMTRACK_VERSION "0.0.0"
#endif

struct cmd_ctx {
	const char *config_path;
	struct cfg cfg;
	int argc; /* arguments after the subcommand name */
	char **argv;
};

static int
cmd__usage(FILE *out, int status)
{
	fprintf(out,
		"usage: romtrack [-c FILE] COMMAND [ARGS]\n"
		"\n"
		"Serves Android ROM release data as a JSON REST API (FastCGI behind nginx).\n"
		"\n"
		"commands:\n"
		"  serve                 run the FastCGI worker pool (SIGHUP reloads, SIGTERM stops)\n"
		"  migrate               apply the SQL migrations not applied yet (every file of the\n"
		"                        folder must be NNN_name.sql)\n"
		"  import [--dry-run] [--verbose] [--json] [--authoritative] PATH...\n"
		"                        load XFU YAML exports (latest.yml, devices.yml), download pages\n"
		"                        (.md/.html) and releases in the API's JSON shape (.json: one\n"
		"                        release or {\"data\": [...]} of up to 1000), directories\n"
		"                        recursively, in one transaction; YAML nests at most 64 levels,\n"
		"                        a YAML file is at most 256 MB; --authoritative: a correction,\n"
		"                        every field an input gives replaces the stored value (a branch\n"
		"                        demoted, links replaced, an MD5 cleared)\n"
		"  check PATH...         read and check input files without a database; print each\n"
		"                        normalised card as a line of JSON\n"
		"  export [--format yaml|json] [--all]\n"
		"                        write releases in the shape of XFU's latest.yml: the newest per\n"
		"                        codename, branch and type, one entry per display name; or with\n"
		"                        --all every release and the fields import reads back (filename,\n"
		"                        changelog, mirrors, incremental, declared)\n"
		"  audit [--actor NAME] [--release ID] [--since YYYY-MM-DD] [--limit N] [--json]\n"
		"                        list the change log, newest first (default 100 entries): every\n"
		"                        change to releases, variants and display names, who made it\n"
		"                        (token:, cli:, sql:), how, when and each field's old and new value\n"
		"  deliver               push each webhook subscription's events to its URL, signed\n"
		"                        (Standard Webhooks), at least once and in order, until SIGTERM;\n"
		"                        several may run at once\n"
		"  routes                print the API routes, one \"METHOD PATH\" per line\n"
		"  config defaults       print every configuration key with its default, what it means\n"
		"                        and whether a reload (SIGHUP) applies it, as a YAML file\n"
		"  config get KEY        print the value of one key in the configuration file\n"
		"%s"
		"\n"
		"options:\n"
		"  -c, --config FILE     configuration file (default: $ROMTRACK_CONFIG, else\n"
		"                        %s);\n"
		"                        every key is optional (romtrack config defaults)\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n"
		"\n"
		"environment:\n"
		"  ROMTRACK_DATABASE_URL overrides the database setting of the configuration\n",
		token_usage, cfg_default_path());
	return status;
}

static struct db *
cmd__connect(struct cmd_ctx *ctx)
{
	struct db *db = db_open(ctx->cfg.database, false);

	if (!db_ensure(db)) {
		fprintf(stderr, "romtrack: cannot connect to the database: %s\n", db_error(db));
		db_close(db);
		return NULL;
	}
	return db;
}

static int
cmd_serve(struct cmd_ctx *ctx)
{
	if (ctx->argc != 0)
		return cmd__usage(stderr, 2);
	return master_run(ctx->config_path, &ctx->cfg);
}

static int
cmd_migrate(struct cmd_ctx *ctx)
{
	char err[1024];
	struct db *db;
	bool ok;

	if (ctx->argc != 0)
		return cmd__usage(stderr, 2);
	db = cmd__connect(ctx);
	if (db == NULL)
		return 1;
	ok = migrate_run(db_conn(db), ctx->cfg.migrations, err, sizeof err);
	if (!ok)
		fprintf(stderr, "romtrack: migrate: %s\n", err);
	db_close(db);
	return ok ? 0 : 1;
}

/* Splits import/check arguments into options and paths; returns false on a bad option. */
static bool
cmd__import_args(struct cmd_ctx *ctx, struct imp_options *opt, bool *json, const char **paths, size_t *npaths)
{
	*npaths = 0;
	for (int i = 0; i < ctx->argc; i++) {
		const char *a = ctx->argv[i];

		if (strcmp(a, "--dry-run") == 0 && opt != NULL)
			opt->dry_run = true;
		else if (strcmp(a, "--verbose") == 0 && opt != NULL)
			opt->verbose = true;
		else if (strcmp(a, "--authoritative") == 0 && opt != NULL)
			opt->authoritative = true;
		else if (strcmp(a, "--json") == 0 && json != NULL)
			*json = true;
		else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "romtrack: unknown option %s\n", a);
			return false;
		} else
			paths[(*npaths)++] = a;
	}
	if (*npaths == 0) {
		fputs("romtrack: no input files\n", stderr);
		return false;
	}
	return true;
}

/* The end-of-run report: counts, warnings by kind, and what changed. */
static void
cmd__report(const struct imp_summary *sum, const struct imp_options *opt, bool json)
{
	size_t warnings = 0, shown = 20;

	if (json) {
		json_t *report = imp_summary_json(sum, opt);

		json_dumpf(report, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(report);
		return;
	}
	printf("%s%zu file%s, %zu cards, %zu variant names: %zu releases (%zu inserted, %zu updated, %zu unchanged)\n",
	       opt->dry_run ? "dry run, nothing written: " : "", sum->files, sum->files == 1 ? "" : "s", sum->cards,
	       sum->variants_read, sum->releases, sum->inserted, sum->updated, sum->unchanged);
	for (int k = 0; k < IMP_WARN__MAX; k++)
		warnings += sum->warnings[k];
	printf("%zu warning%s", warnings, warnings == 1 ? "" : "s");
	for (int k = 0, first = 1; k < IMP_WARN__MAX; k++) {
		if (sum->warnings[k] == 0)
			continue;
		printf("%s%s %zu", first ? ": " : ", ", imp_warning_name((enum imp_warning)k), sum->warnings[k]);
		first = 0;
	}
	printf("%s\n", warnings && !opt->verbose ? " (--verbose lists them)" : "");
	for (size_t i = 0; i < sum->nchanges && i < shown; i++)
		printf("changed %s: %s %s -> %s\n", sum->changes[i].filename, sum->changes[i].field,
		       sum->changes[i].old_value ? sum->changes[i].old_value : "null",
		       sum->changes[i].new_value ? sum->changes[i].new_value : "null");
	if (sum->nchanges > shown)
		printf("... and %zu more changes (--json lists them all)\n", sum->nchanges - shown);
}

/* "cli:<user>" of the effective user, for the audit (the uid when it has no name). */
static void
cmd__actor(char *out, size_t outlen)
{
	const struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
		snprintf(out, outlen, "cli:%s", pw->pw_name);
	else
		snprintf(out, outlen, "cli:%lu", (unsigned long)geteuid());
}

static int
cmd_import(struct cmd_ctx *ctx)
{
	struct imp_options opt = {.progress = true, .via = "romtrack import"};
	struct imp_summary sum = {0};
	struct imp_errors errs = {0};
	char actor[300];
	const char **paths;
	size_t npaths;
	bool json = false, ok = false;
	struct db *db;

	paths = calloc((size_t)ctx->argc + 1, sizeof *paths);
	if (paths == NULL)
		return 1;
	if (!cmd__import_args(ctx, &opt, &json, paths, &npaths)) {
		free(paths);
		return 2;
	}
	cmd__actor(actor, sizeof actor);
	opt.actor = actor;
	db = cmd__connect(ctx);
	if (db != NULL) {
		ok = imp_run(db_conn(db), paths, npaths, &opt, &sum, &errs);
		if (ok) {
			cmd__report(&sum, &opt, json);
		} else {
			/* every error of a JSON input, each on its line */
			for (size_t i = 0; i < errs.n; i++) {
				char line[2048];

				imp_error_format(&errs.items[i], line, sizeof line);
				fprintf(stderr, "romtrack: import: %s\n", line);
			}
			fputs("romtrack: import: nothing was written\n", stderr);
		}
		db_close(db);
	}
	imp_errors_free(&errs);
	imp_summary_free(&sum);
	free(paths);
	return ok ? 0 : 1;
}

static int
cmd_check(struct cmd_ctx *ctx)
{
	struct imp_summary sum = {0};
	const char **paths;
	size_t npaths, warnings = 0;
	char err[1024];
	bool ok;

	paths = calloc((size_t)ctx->argc + 1, sizeof *paths);
	if (paths == NULL)
		return 1;
	if (!cmd__import_args(ctx, NULL, NULL, paths, &npaths)) {
		free(paths);
		return 2;
	}
	ok = imp_check(paths, npaths, stdout, &sum, err, sizeof err);
	if (!ok)
		fprintf(stderr, "romtrack: check: %s\n", err);
	for (int k = 0; k < IMP_WARN__MAX; k++)
		warnings += sum.warnings[k];
	if (ok)
		fprintf(stderr, "%zu file%s, %zu cards, %zu warnings\n", sum.files, sum.files == 1 ? "" : "s",
			sum.cards, warnings);
	free(paths);
	return ok ? 0 : 1;
}

static bool
cmd__write_stdout(void *data, const char *bytes, size_t len)
{
	(void)data;
	return fwrite(bytes, 1, len, stdout) == len;
}

static bool
cmd__export_row(void *writer, const PGresult *row)
{
	exp_latest_row(writer, row, 0);
	return true;
}

static int
cmd_export(struct cmd_ctx *ctx)
{
	enum exp_format format = EXP_YAML;
	struct db_args args = {0};
	struct exp_latest *writer;
	bool all = false, ok = true;
	char err[1024];
	struct db *db;

	for (int i = 0; i < ctx->argc; i++) {
		const char *a = ctx->argv[i];

		if (strcmp(a, "--all") == 0) {
			all = true;
		} else if (strcmp(a, "--format") == 0 && i + 1 < ctx->argc &&
			   (strcmp(ctx->argv[i + 1], "yaml") == 0 || strcmp(ctx->argv[i + 1], "json") == 0)) {
			format = strcmp(ctx->argv[++i], "json") == 0 ? EXP_JSON : EXP_YAML;
		} else {
			fprintf(stderr, "romtrack: export: unknown argument %s (--format yaml|json, --all)\n", a);
			return 2;
		}
	}
	db = cmd__connect(ctx);
	if (db == NULL)
		return 1;
	args.all = all ? "true" : "false";
	writer = exp_latest_begin(format, all, cmd__write_stdout, NULL);
	/* rows are written as they arrive: memory stays flat whatever the size of the database */
	if (db_exec_rows(db, DB_STMT_XFU_ENTRIES, &args, cmd__export_row, writer) != RT_OK) {
		fprintf(stderr, "romtrack: export: database: %s\n", db_error(db));
		ok = false;
		(void)exp_latest_end(writer, err, sizeof err);
	} else if (!(ok = exp_latest_end(writer, err, sizeof err)) || fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "romtrack: export: %s\n", ok ? "writing the output failed" : err);
		ok = false;
	}
	db_close(db);
	return ok ? 0 : 1;
}

/* Whether s is a positive integer of at most 18 digits. */
static bool
cmd__positive(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 18 && s[0] != '0' && strspn(s, "0123456789") == n;
}

/* The change log (sql/011) through the API's own statement, DB_STMT_AUDIT: newest first. */
static int
cmd_audit(struct cmd_ctx *ctx)
{
	struct db_args args = {.limit = "100"};
	bool json = false;
	PGresult *res = NULL;
	struct db *db;
	enum rt_err err;

	for (int i = 0; i < ctx->argc; i++) {
		const char *a = ctx->argv[i], *v = i + 1 < ctx->argc ? ctx->argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--actor") == 0 && v != NULL && v[0] != '\0') {
			args.actor = ctx->argv[++i];
		} else if (strcmp(a, "--release") == 0 && v != NULL && cmd__positive(v)) {
			args.release_id = ctx->argv[++i];
		} else if (strcmp(a, "--since") == 0 && v != NULL && params_date_valid(v)) {
			args.since = ctx->argv[++i];
		} else if (strcmp(a, "--limit") == 0 && v != NULL && cmd__positive(v)) {
			args.limit = ctx->argv[++i];
		} else {
			fprintf(stderr,
				"romtrack: audit: bad argument %s (--actor NAME, --release ID, --since YYYY-MM-DD, "
				"--limit N, --json)\n",
				a);
			return 2;
		}
	}
	db = db_open(ctx->cfg.database, true);
	if (!db_ensure(db)) {
		fprintf(stderr, "romtrack: audit: cannot connect to the database: %s\n", db_error(db));
		db_close(db);
		return 1;
	}
	err = db_exec(db, DB_STMT_AUDIT, &args, &res);
	if (err != RT_OK) {
		fprintf(stderr, "romtrack: audit: %s: %s\n", rt_strerror(err), db_error(db));
		db_close(db);
		return 1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		if (json) {
			struct arena *a = arena_new();
			struct jw *w = jw_new(a);

			h_audit_entry_write(w, res, i);
			puts(jw_text(w, NULL));
			arena_free(a);
			continue;
		}
		/* seq, time, actor, via, kind, what, fields */
		printf("%s %s %s (%s) %s %s %s%s%s %s\n", PQgetvalue(res, i, AUDCOL_SEQ), PQgetvalue(res, i, AUDCOL_AT),
		       PQgetvalue(res, i, AUDCOL_ACTOR), PQgetvalue(res, i, AUDCOL_VIA),
		       PQgetvalue(res, i, AUDCOL_KIND), PQgetvalue(res, i, AUDCOL_SUBJECT),
		       PQgetisnull(res, i, AUDCOL_RELEASE_ID) ? "" : PQgetvalue(res, i, AUDCOL_RELEASE_ID),
		       PQgetisnull(res, i, AUDCOL_RELEASE_ID) ? "" : " ",
		       PQgetisnull(res, i, AUDCOL_FILENAME) ? PQgetvalue(res, i, AUDCOL_VARIANT)
							    : PQgetvalue(res, i, AUDCOL_FILENAME),
		       PQgetvalue(res, i, AUDCOL_FIELDS));
	}
	PQclear(res);
	db_close(db);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
cmd_routes(struct cmd_ctx *ctx)
{
	if (ctx->argc != 0)
		return cmd__usage(stderr, 2);
	/* HEAD is GET without a body; OpenAPI documents the others. */
	for (size_t i = 0; i < route_count(); i++) {
		const char *names[ROUTE_MAX_METHODS];
		size_t n = route_methods(route_at(i), names);

		for (size_t j = 0; j < n; j++)
			if (strcmp(names[j], "HEAD") != 0)
				printf("%s %s\n", names[j], route_at(i)->pattern);
	}
	return 0;
}

static int
cmd_config(struct cmd_ctx *ctx)
{
	char err[1024], value[4096];
	bool found;

	if (ctx->argc == 1 && strcmp(ctx->argv[0], "defaults") == 0) {
		cfg_print_defaults(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (ctx->argc != 2 || strcmp(ctx->argv[0], "get") != 0)
		return cmd__usage(stderr, 2);
	/* what serve would run with: the file, its defaults and $ROMTRACK_DATABASE_URL */
	if (!cfg_load(&ctx->cfg, ctx->config_path, err, sizeof err)) {
		fprintf(stderr, "romtrack: %s\n", err);
		return 1;
	}
	/* a secret goes nowhere a terminal log or a process's output might keep it */
	if (strcmp(ctx->argv[1], "cursor_secret") == 0 || strcmp(ctx->argv[1], "database") == 0) {
		fprintf(stderr, "romtrack: config get: %s may hold a secret and is not printed\n", ctx->argv[1]);
		return 2;
	}
	found = cfg_get(&ctx->cfg, ctx->argv[1], value, sizeof value);
	if (!found) {
		fprintf(stderr, "romtrack: config get: no key \"%s\" (romtrack config defaults lists them)\n",
			ctx->argv[1]);
		return 2;
	}
	puts(value);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
cmd_deliver(struct cmd_ctx *ctx)
{
	if (ctx->argc > 0) {
		fprintf(stderr, "romtrack: deliver: takes no arguments, not %s\n", ctx->argv[0]);
		return 2;
	}
	log_set_role("deliver");
	return deliver_run(&ctx->cfg);
}

static int
cmd_token(struct cmd_ctx *ctx)
{
	return token_cli(ctx->cfg.database, ctx->argc, ctx->argv);
}

static const struct {
	const char *name;
	int (*run)(struct cmd_ctx *ctx);
	bool needs_config;
} cmd__table[] = {
	{"serve", cmd_serve, true},     {"migrate", cmd_migrate, true}, {"import", cmd_import, true},
	{"check", cmd_check, false},    {"export", cmd_export, true},   {"routes", cmd_routes, false},
	{"config", cmd_config, false},  {"token", cmd_token, true},     {"audit", cmd_audit, true},
	{"deliver", cmd_deliver, true},
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_ctx ctx = {0};
	char err[1024];
	int opt, status;

	/* once per process, before anything draws random bytes (workers inherit it) */
	if (sodium_init() < 0) {
		fputs("romtrack: libsodium cannot start\n", stderr);
		return 1;
	}
	ctx.config_path = getenv("ROMTRACK_CONFIG");
	if (ctx.config_path == NULL || ctx.config_path[0] == '\0')
		ctx.config_path = cfg_default_path();
	/* "+": stop at the subcommand, its options are its own */
	while ((opt = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': ctx.config_path = optarg; break;
		case 'h': return cmd__usage(stdout, 0);
		case 'V': puts("romtrack " ROMTRACK_VERSION); return 0;
		default: return cmd__usage(stderr, 2);
		}
	}
	if (optind >= argc)
		return cmd__usage(stderr, 2);
	for (size_t i = 0; i < sizeof cmd__table / sizeof cmd__table[0]; i++) {
		if (strcmp(argv[optind], cmd__table[i].name) != 0)
			continue;
		ctx.argc = argc - optind - 1;
		ctx.argv = argv + optind + 1;
		if (cmd__table[i].needs_config) {
			if (!cfg_load(&ctx.cfg, ctx.config_path, err, sizeof err)) {
				fprintf(stderr, "romtrack: %s\n", err);
				return 1;
			}
			log_set_level(ctx.cfg.log_level);
		}
		status = cmd__table[i].run(&ctx);
		cfg_free(&ctx.cfg);
		return status;
	}
	fprintf(stderr, "romtrack: unknown command \"%s\"\n", argv[optind]);
	return cmd__usage(stderr, 2);
}
