/* The romtrack program: option parsing and the table of subcommands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "import.h"
#include "log.h"
#include "master.h"
#include "migrate.h"
#include "router.h"

#ifndef ROMTRACK_VERSION
#define ROMTRACK_VERSION "0.0.0"
#endif

struct cmd_ctx {
	const char *config_path;
	struct cfg cfg;
	int argc;   /* arguments after the subcommand name */
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
		"  migrate               apply the SQL migrations not applied yet\n"
		"  import [--dry-run] [--verbose] FILE...\n"
		"                        load XFU YAML exports (latest.yml, devices.yml) in one transaction\n"
		"  routes                print the API routes, one \"METHOD PATH\" per line\n"
		"\n"
		"options:\n"
		"  -c, --config FILE     configuration file (default: $ROMTRACK_CONFIG, else\n"
		"                        %s)\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n"
		"\n"
		"environment:\n"
		"  ROMTRACK_DATABASE_URL overrides the database setting of the configuration\n",
		cfg_default_path());
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

static int
cmd_import(struct cmd_ctx *ctx)
{
	struct imp_options opt = {0};
	struct imp_summary sum;
	const char **files;
	size_t nfiles = 0;
	char err[1024];
	struct db *db;
	bool ok;

	files = calloc((size_t)ctx->argc + 1, sizeof *files);
	if (files == NULL)
		return 1;
	for (int i = 0; i < ctx->argc; i++) {
		if (strcmp(ctx->argv[i], "--dry-run") == 0)
			opt.dry_run = true;
		else if (strcmp(ctx->argv[i], "--verbose") == 0)
			opt.verbose = true;
		else if (ctx->argv[i][0] == '-' && ctx->argv[i][1] != '\0') {
			fprintf(stderr, "romtrack: import: unknown option %s\n", ctx->argv[i]);
			free(files);
			return 2;
		} else
			files[nfiles++] = ctx->argv[i];
	}
	if (nfiles == 0) {
		fputs("romtrack: import: no input files\n", stderr);
		free(files);
		return 2;
	}
	db = cmd__connect(ctx);
	if (db == NULL) {
		free(files);
		return 1;
	}
	ok = imp_run(db_conn(db), files, nfiles, &opt, &sum, err, sizeof err);
	if (!ok) {
		fprintf(stderr, "romtrack: import: %s\nromtrack: import: nothing was written\n", err);
	} else {
		size_t warnings = 0;

		printf("%s%zu file%s, %zu cards, %zu variant names: %zu releases"
		       " (%zu inserted, %zu updated, %zu unchanged)\n",
		       opt.dry_run ? "dry run, nothing written: " : "", sum.files,
		       sum.files == 1 ? "" : "s", sum.cards, sum.variants_read, sum.releases, sum.inserted,
		       sum.updated, sum.unchanged);
		for (int w = 0; w < IMP_WARN__MAX; w++)
			warnings += sum.warnings[w];
		printf("%zu warning%s", warnings, warnings == 1 ? "" : "s");
		for (int w = 0, first = 1; w < IMP_WARN__MAX; w++) {
			if (sum.warnings[w] == 0)
				continue;
			printf("%s%s %zu", first ? ": " : ", ", imp_warning_name((enum imp_warning)w), sum.warnings[w]);
			first = 0;
		}
		printf("%s\n", warnings && !opt.verbose ? " (--verbose lists them)" : "");
	}
	db_close(db);
	free(files);
	return ok ? 0 : 1;
}

static int
cmd_routes(struct cmd_ctx *ctx)
{
	(void)ctx;
	for (int id = 0; id < ROUTE__MAX; id++)
		printf("GET %s\n", route_pattern((enum route_id)id));
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct cmd_ctx *ctx);
	bool needs_config;
} cmd__table[] = {
	{"serve", cmd_serve, true},
	{"migrate", cmd_migrate, true},
	{"import", cmd_import, true},
	{"routes", cmd_routes, false},
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
