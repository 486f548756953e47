/* The import pipeline: readers -> normalise -> stage (COPY) -> merge, in one transaction. */
#include "import.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "domain.h"
#include "imp_normalize.h"
#include "imp_readers.h"
#include "params.h"

static const char *const imp__warning_names[IMP_WARN__MAX] = {
	[IMP_WARN_SIZE_UNPARSED] = "size-unparsed",
	[IMP_WARN_SIZE_IMPLAUSIBLE] = "size-implausible",
	[IMP_WARN_MD5_INVALID] = "md5-invalid",
	[IMP_WARN_MD5_MISMATCH] = "md5-filename-mismatch",
	[IMP_WARN_DATE_INVALID] = "date-invalid",
	[IMP_WARN_ANDROID_INVALID] = "android-invalid",
	[IMP_WARN_REGION_MISMATCH] = "region-mismatch",
};

const char *
imp_warning_name(enum imp_warning w)
{
	return w < IMP_WARN__MAX ? imp__warning_names[w] : "?";
}

/* A growing text buffer in COPY text format. */
struct imp__buf {
	char *data;
	size_t len, cap;
};

static void
imp__buf_put(struct imp__buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1 << 16;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (b->data == NULL) {
			fputs("romtrack: out of memory\n", stderr);
			abort();
		}
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Appends one COPY field (\N for NULL; backslash, tab, CR, LF escaped) and a separator. */
static void
imp__buf_field(struct imp__buf *b, const char *value, bool last)
{
	if (value == NULL) {
		imp__buf_put(b, "\\N", 2);
	} else {
		for (const char *p = value; *p; p++) {
			const char *esc = *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n"
				       : *p == '\r' ? "\\r" : NULL;

			if (esc)
				imp__buf_put(b, esc, 2);
			else
				imp__buf_put(b, p, 1);
		}
	}
	imp__buf_put(b, last ? "\n" : "\t", 1);
}

struct imp__stage {
	struct imp_sink sink;
	struct imp__buf releases, variants;
	unsigned long seq;
	const struct imp_options *opt;
	struct imp_summary *sum;
};

static void imp__warn(struct imp__stage *st, const struct imp_card *card, enum imp_warning w,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
imp__warn(struct imp__stage *st, const struct imp_card *card, enum imp_warning w, const char *fmt, ...)
{
	va_list ap;

	st->sum->warnings[w]++;
	if (!st->opt->verbose)
		return;
	fprintf(stderr, "%s:%lu: warning (%s): ", card->file, card->line, imp_warning_name(w));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool
imp__fail(char *err, size_t errlen, const struct imp_card *card, const char *what)
{
	snprintf(err, errlen, "%s:%lu: %s", card->file, card->line, what);
	return false;
}

/* Normalises one card and stages it; errors stop the run, data problems are warnings. */
static bool
imp__stage_card(struct imp_sink *sink, const struct imp_card *card, char *err, size_t errlen)
{
	struct imp__stage *st = (struct imp__stage *)sink;
	char base[128], filename[512], md5buf[33], sortkey[256], prefix[11];
	char seq[24], line[24], size[24];
	const char *md5 = NULL, *date = NULL, *android = card->android;
	enum dom_region variant_region, region, name_region;
	enum dom_branch branch;
	enum dom_type type;
	long long bytes;
	json_t *links;
	char *links_json;

	st->sum->cards++;
	if (card->codename == NULL || !params_codename_valid(card->codename))
		return imp__fail(err, errlen, card, "the codename is missing or not 1 to 64 letters, digits or '_'");
	if (card->version == NULL || card->version[0] == '\0' || strlen(card->version) > 64 ||
	    strcspn(card->version, " \t\r\n") != strlen(card->version))
		return imp__fail(err, errlen, card, "the version is missing, longer than 64 characters or has spaces");
	branch = imp_branch_from_site(card->branch);
	if (branch == DOM_BRANCH__MAX)
		return imp__fail(err, errlen, card, "the branch is missing or not Stable, Stable Beta, Weekly or Public Beta");
	type = imp_type_from_site(card->type);
	if (type == DOM_TYPE__MAX)
		return imp__fail(err, errlen, card, "the type (method) is missing or not Recovery or Fastboot");
	if (card->nlinks == 0 || !imp_filename_from_link(card->links[0], filename, sizeof filename))
		return imp__fail(err, errlen, card, "the download link is missing or not an http(s) URL of a file");
	for (size_t i = 1; i < card->nlinks; i++)
		if (!imp_filename_from_link(card->links[i], base, sizeof base))
			return imp__fail(err, errlen, card, "a mirror link is not an http(s) URL of a file");
	if (card->name != NULL && (card->name[0] == '\0' || strlen(card->name) > 200))
		return imp__fail(err, errlen, card, "the display name is empty or longer than 200 characters");

	variant_region = dom_variant_split(card->codename, base);
	region = dom_region_from_version(card->version);
	if (region == DOM_REGION__MAX)
		region = variant_region;
	name_region = card->name ? dom_region_from_name(card->name) : DOM_REGION__MAX;
	if (name_region != DOM_REGION__MAX && name_region != region)
		imp__warn(st, card, IMP_WARN_REGION_MISMATCH, "\"%s\" is not %s, the region of %s",
			  card->name, dom_region_name(region), card->version);
	if (!imp_parse_size(card->size, &bytes)) {
		if (card->size != NULL)
			imp__warn(st, card, IMP_WARN_SIZE_UNPARSED, "size \"%s\" is not a size", card->size);
		size[0] = '\0';
	} else {
		if (bytes < IMP_MIN_PLAUSIBLE_SIZE)
			imp__warn(st, card, IMP_WARN_SIZE_IMPLAUSIBLE, "%lld bytes cannot be a ROM", bytes);
		snprintf(size, sizeof size, "%lld", bytes);
	}
	if (!imp_parse_md5(card->md5, md5buf, &md5))
		imp__warn(st, card, IMP_WARN_MD5_INVALID, "MD5 \"%s\" is not 32 hex digits", card->md5);
	if (md5 != NULL && imp_filename_md5_prefix(filename, prefix) && strncmp(md5, prefix, 10) != 0)
		imp__warn(st, card, IMP_WARN_MD5_MISMATCH, "file name says %s, MD5 is %s", prefix, md5);
	if (!imp_parse_date(card->date, &date))
		imp__warn(st, card, IMP_WARN_DATE_INVALID, "date \"%s\" is not a YYYY-MM-DD date", card->date);
	if (android != NULL && !imp_android_valid(android)) {
		imp__warn(st, card, IMP_WARN_ANDROID_INVALID, "Android version \"%s\" is not a version", android);
		android = NULL;
	}
	imp_version_sort_key(card->version, sortkey, sizeof sortkey);
	links = json_array();
	for (size_t i = 0; i < card->nlinks; i++)
		json_array_append_new(links, json_string(card->links[i]));
	links_json = json_dumps(links, JSON_COMPACT);
	json_decref(links);
	if (links_json == NULL)
		return imp__fail(err, errlen, card, "out of memory");

	snprintf(seq, sizeof seq, "%lu", ++st->seq);
	snprintf(line, sizeof line, "%lu", card->line);
	{
		const char *row[] = {
			seq, card->file, line, card->codename, base, dom_region_name(variant_region),
			card->name, filename, card->version, sortkey, dom_branch_name(branch),
			dom_type_name(type), dom_region_name(region), android, size[0] ? size : NULL, md5,
			date, card->changelog, links_json,
		};
		size_t n = sizeof row / sizeof row[0];

		for (size_t i = 0; i < n; i++)
			imp__buf_field(&st->releases, row[i], i + 1 == n);
	}
	free(links_json);
	return true;
}

static bool
imp__stage_variant(struct imp_sink *sink, const struct imp_variant *v, char *err, size_t errlen)
{
	struct imp__stage *st = (struct imp__stage *)sink;
	char base[128], seq[24];
	enum dom_region region;

	if (!params_codename_valid(v->codename)) {
		snprintf(err, errlen, "%s:%lu: codename \"%s\" is not 1 to 64 letters, digits or '_'", v->file,
			 v->line, v->codename);
		return false;
	}
	if (v->name[0] == '\0' || strlen(v->name) > 200) {
		snprintf(err, errlen, "%s:%lu: the display name of %s is empty or too long", v->file, v->line,
			 v->codename);
		return false;
	}
	st->sum->variants_read++;
	region = dom_variant_split(v->codename, base);
	snprintf(seq, sizeof seq, "%lu", ++st->seq);
	{
		const char *row[] = {seq, v->codename, base, dom_region_name(region), v->name,
				     v->miui_name && v->miui_name[0] ? v->miui_name : NULL};
		size_t n = sizeof row / sizeof row[0];

		for (size_t i = 0; i < n; i++)
			imp__buf_field(&st->variants, row[i], i + 1 == n);
	}
	return true;
}

static bool
imp__copy(PGconn *conn, const char *sql, const struct imp__buf *buf, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	bool ok;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		snprintf(err, errlen, "database: %s", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	PQclear(res);
	ok = (buf->len == 0 || PQputCopyData(conn, buf->data, (int)buf->len) == 1) &&
	     PQputCopyEnd(conn, NULL) == 1;
	res = PQgetResult(conn);
	if (!ok || PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "database: %s", ok ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		ok = false;
	}
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	return ok;
}

/* Staging tables live for the transaction only. */
static const char imp__create_stage_release[] =
	"CREATE TEMP TABLE stage_release ("
	" seq bigint, file text, line bigint, variant text, device text, variant_region region,"
	" display_name text, filename text, version text, version_sort text COLLATE \"C\","
	" branch branch, type package_type, region region, android text, size_bytes bigint,"
	" md5 text, release_date date, changelog text, links_json text) ON COMMIT DROP";
static const char imp__create_stage_variant[] =
	"CREATE TEMP TABLE stage_variant ("
	" seq bigint, variant text, device text, region region, display_name text, miui_name text)"
	" ON COMMIT DROP";

/* The merge, in order. For every field of a release, the last known value wins:
 * later inputs override earlier ones, and an unknown value never erases a known one. */
static const char *const imp__merge[] = {
	"INSERT INTO device (codename)"
	" SELECT device FROM stage_variant UNION SELECT device FROM stage_release"
	" ON CONFLICT (codename) DO NOTHING",

	"INSERT INTO variant (device_id, codename, region, miui_name)"
	" SELECT d.id, s.variant, s.region, s.miui_name FROM ("
	"  SELECT variant, min(device) AS device, min(region) AS region,"
	"   (array_agg(miui_name ORDER BY seq DESC) FILTER (WHERE miui_name IS NOT NULL))[1] AS miui_name"
	"  FROM (SELECT seq, variant, device, region, miui_name FROM stage_variant"
	"        UNION ALL SELECT seq, variant, device, variant_region, NULL FROM stage_release) u"
	"  GROUP BY variant) s JOIN device d ON d.codename = s.device"
	" ON CONFLICT (codename) DO UPDATE SET miui_name = coalesce(excluded.miui_name, variant.miui_name)"
	" WHERE variant.miui_name IS DISTINCT FROM coalesce(excluded.miui_name, variant.miui_name)",

	"INSERT INTO display_name (variant_id, name)"
	" SELECT DISTINCT v.id, s.display_name FROM ("
	"  SELECT variant, display_name FROM stage_variant"
	"  UNION SELECT variant, display_name FROM stage_release) s"
	" JOIN variant v ON v.codename = s.variant WHERE s.display_name IS NOT NULL"
	" ON CONFLICT (variant_id, name) DO NOTHING",

	"CREATE TEMP TABLE stage_merged ON COMMIT DROP AS"
	" SELECT filename,"
	"  (array_agg(variant ORDER BY seq DESC))[1] AS variant,"
	"  (array_agg(version ORDER BY seq DESC))[1] AS version,"
	"  (array_agg(version_sort ORDER BY seq DESC))[1] AS version_sort,"
	"  (array_agg(branch ORDER BY seq DESC))[1] AS branch,"
	"  (array_agg(type ORDER BY seq DESC))[1] AS type,"
	"  (array_agg(region ORDER BY seq DESC))[1] AS region,"
	"  (array_agg(android ORDER BY seq DESC) FILTER (WHERE android IS NOT NULL))[1] AS android,"
	"  (array_agg(size_bytes ORDER BY seq DESC) FILTER (WHERE size_bytes IS NOT NULL))[1] AS size_bytes,"
	"  (array_agg(md5 ORDER BY seq DESC) FILTER (WHERE md5 IS NOT NULL))[1] AS md5,"
	"  (array_agg(release_date ORDER BY seq DESC) FILTER (WHERE release_date IS NOT NULL))[1] AS release_date,"
	"  (array_agg(changelog ORDER BY seq DESC) FILTER (WHERE changelog IS NOT NULL))[1] AS changelog,"
	"  (array_agg(links_json ORDER BY seq DESC))[1] AS links_json"
	" FROM stage_release GROUP BY filename",
};

/* Upserts the merged releases; returns inserted and updated counts. */
static const char imp__upsert_releases[] =
	"WITH up AS ("
	" INSERT INTO release (variant_id, device_id, filename, version, version_sort, branch, type,"
	"  region, android, size_bytes, md5, release_date, changelog, links)"
	" SELECT v.id, v.device_id, m.filename, m.version, m.version_sort, m.branch, m.type, m.region,"
	"  m.android, m.size_bytes, m.md5, m.release_date, m.changelog,"
	"  ARRAY(SELECT json_array_elements_text(m.links_json::json))"
	" FROM stage_merged m JOIN variant v ON v.codename = m.variant"
	" ON CONFLICT (filename) DO UPDATE SET"
	"  variant_id = excluded.variant_id, device_id = excluded.device_id, version = excluded.version,"
	"  version_sort = excluded.version_sort, branch = excluded.branch, type = excluded.type,"
	"  region = excluded.region, android = coalesce(excluded.android, release.android),"
	"  size_bytes = coalesce(excluded.size_bytes, release.size_bytes),"
	"  md5 = coalesce(excluded.md5, release.md5),"
	"  release_date = coalesce(excluded.release_date, release.release_date),"
	"  changelog = coalesce(excluded.changelog, release.changelog), links = excluded.links"
	" WHERE (release.variant_id, release.version, release.branch, release.type, release.region,"
	"        release.android, release.size_bytes, release.md5, release.release_date,"
	"        release.changelog, release.links)"
	"  IS DISTINCT FROM (excluded.variant_id, excluded.version, excluded.branch, excluded.type,"
	"        excluded.region, coalesce(excluded.android, release.android),"
	"        coalesce(excluded.size_bytes, release.size_bytes), coalesce(excluded.md5, release.md5),"
	"        coalesce(excluded.release_date, release.release_date),"
	"        coalesce(excluded.changelog, release.changelog), excluded.links)"
	" RETURNING (xmax = 0) AS inserted)"
	" SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),"
	"  (SELECT count(*) FROM stage_merged) FROM up";

static const char imp__link_names[] =
	"INSERT INTO release_name (release_id, display_name_id)"
	" SELECT DISTINCT r.id, n.id FROM stage_release s"
	" JOIN release r ON r.filename = s.filename"
	" JOIN variant v ON v.codename = s.variant"
	" JOIN display_name n ON n.variant_id = v.id AND n.name = s.display_name"
	" ON CONFLICT DO NOTHING";

static bool
imp__merge_all(PGconn *conn, struct imp_summary *sum, char *err, size_t errlen)
{
	PGresult *res;

	for (size_t i = 0; i < sizeof imp__merge / sizeof imp__merge[0]; i++)
		if (!db_run(conn, imp__merge[i], NULL, 0, NULL, "database", err, errlen))
			return false;
	if (!db_run(conn, imp__upsert_releases, NULL, 0, &res, "database", err, errlen))
		return false;
	sum->inserted = strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	sum->updated = strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	sum->releases = strtoul(PQgetvalue(res, 0, 2), NULL, 10);
	sum->unchanged = sum->releases - sum->inserted - sum->updated;
	PQclear(res);
	return db_run(conn, imp__link_names, NULL, 0, NULL, "database", err, errlen);
}

static bool
imp__read_file(const char *path, struct imp_sink *sink, char *err, size_t errlen)
{
	const char *dot = strrchr(path, '.');

	if (dot != NULL && (strcmp(dot, ".yml") == 0 || strcmp(dot, ".yaml") == 0))
		return imp_read_xfu_yaml(path, sink, err, errlen);
	snprintf(err, errlen, "%s: unknown input format (expected an XFU export, .yml or .yaml)", path);
	return false;
}

bool
imp_run(PGconn *conn, const char *const *files, size_t nfiles, const struct imp_options *opt,
	struct imp_summary *sum, char *err, size_t errlen)
{
	struct imp__stage st = {
		.sink = {.card = imp__stage_card, .variant = imp__stage_variant},
		.opt = opt, .sum = sum,
	};
	bool ok = false, in_tx = false;

	memset(sum, 0, sizeof *sum);
	/* Read and check everything before touching the database. */
	for (size_t i = 0; i < nfiles; i++) {
		if (!imp__read_file(files[i], &st.sink, err, errlen))
			goto out;
		sum->files++;
	}
	if (!db_run(conn, "BEGIN", NULL, 0, NULL, "database", err, errlen))
		goto out;
	in_tx = true;
	/* One import at a time: concurrent merges would count each other's rows. */
	if (!db_run(conn, "SELECT pg_advisory_xact_lock(7201453)", NULL, 0, NULL, "database", err, errlen) ||
	    !db_run(conn, imp__create_stage_release, NULL, 0, NULL, "database", err, errlen) ||
	    !db_run(conn, imp__create_stage_variant, NULL, 0, NULL, "database", err, errlen) ||
	    !imp__copy(conn, "COPY stage_release FROM STDIN", &st.releases, err, errlen) ||
	    !imp__copy(conn, "COPY stage_variant FROM STDIN", &st.variants, err, errlen) ||
	    !imp__merge_all(conn, sum, err, errlen))
		goto out;
	if (!db_run(conn, opt->dry_run ? "ROLLBACK" : "COMMIT", NULL, 0, NULL, "database", err, errlen))
		goto out;
	in_tx = false;
	ok = true;
out:
	if (in_tx)
		PQclear(PQexec(conn, "ROLLBACK"));
	free(st.releases.data);
	free(st.variants.data);
	return ok;
}
