/* The import pipeline: readers -> normalise -> stage (COPY) -> merge, in one transaction. */
#include "import.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "domain.h"
#include "imp_normalize.h"
#include "imp_readers.h"
#include "params.h"

#define IMP__COPY_CHUNK (1 << 20) /* bytes staged before they go to the server */

static const char *const imp__warning_names[IMP_WARN__MAX] = {
	[IMP_WARN_SIZE_UNPARSED] = "size-unparsed",
	[IMP_WARN_SIZE_IMPLAUSIBLE] = "size-implausible",
	[IMP_WARN_MD5_INVALID] = "md5-invalid",
	[IMP_WARN_MD5_MISMATCH] = "md5-filename-mismatch",
	[IMP_WARN_DATE_INVALID] = "date-invalid",
	[IMP_WARN_DATE_IMPLAUSIBLE] = "date-implausible",
	[IMP_WARN_ANDROID_INVALID] = "android-invalid",
	[IMP_WARN_ANDROID_MISMATCH] = "android-mismatch",
	[IMP_WARN_REGION_MISMATCH] = "region-mismatch",
	[IMP_WARN_VERSION_UNPARSED] = "version-unparsed",
	[IMP_WARN_LINK_MISMATCH] = "link-filename-mismatch",
	[IMP_WARN_CONFLICTING_COPIES] = "conflicting-copies",
};

const char *
imp_warning_name(enum imp_warning w)
{
	return w < IMP_WARN__MAX ? imp__warning_names[w] : "?";
}

/* ---- errors ------------------------------------------------------------------------------ */

static char *
imp__strdup(const char *s)
{
	char *copy = s != NULL ? strdup(s) : NULL;

	if (s != NULL && copy == NULL)
		abort();
	return copy;
}

void
imp_errors_add(struct imp_errors *errs, enum imp_fault fault, const char *input, const char *pointer,
	       unsigned long line, unsigned long column, const char *fmt, ...)
{
	struct imp_error *e;
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (errs->n == errs->cap) {
		errs->cap = errs->cap ? 2 * errs->cap : 8;
		if ((errs->items = realloc(errs->items, errs->cap * sizeof *errs->items)) == NULL)
			abort();
	}
	e = &errs->items[errs->n++];
	*e = (struct imp_error){imp__strdup(input), imp__strdup(pointer), line, column, imp__strdup(detail)};
	/* the worst fault wins: the database's over a syntax error over a broken rule */
	if (fault > errs->fault)
		errs->fault = fault;
}

void
imp_errors_add_message(struct imp_errors *errs, enum imp_fault fault, const char *input, const char *message)
{
	size_t n = input != NULL ? strlen(input) : 0;
	unsigned long pos[2] = {0, 0};
	const char *p = message;

	/* "input:line[:column]: detail": the place apart from what is wrong */
	if (input != NULL && strncmp(message, input, n) == 0 && message[n] == ':') {
		p = message + n;
		for (int i = 0; i < 2 && p[0] == ':' && p[1] >= '0' && p[1] <= '9'; i++) {
			char *end;

			pos[i] = strtoul(p + 1, &end, 10);
			p = end;
		}
		if (strncmp(p, ": ", 2) == 0)
			p += 2;
		else
			p = message, pos[0] = pos[1] = 0;
	}
	imp_errors_add(errs, fault, p == message ? NULL : input, NULL, pos[0], pos[1], "%s", p);
}

void
imp_error_format(const struct imp_error *e, char *out, size_t outlen)
{
	if (e->input == NULL)
		snprintf(out, outlen, "%s", e->detail);
	else if (e->pointer != NULL)
		snprintf(out, outlen, "%s: %s: %s", e->input, e->pointer[0] ? e->pointer : "(the document)", e->detail);
	else if (e->line > 0 && e->column > 0)
		snprintf(out, outlen, "%s:%lu:%lu: %s", e->input, e->line, e->column, e->detail);
	else if (e->line > 0)
		snprintf(out, outlen, "%s:%lu: %s", e->input, e->line, e->detail);
	else
		snprintf(out, outlen, "%s: %s", e->input, e->detail);
}

json_t *
imp_errors_json(const struct imp_errors *errs)
{
	json_t *list = json_array();

	for (size_t i = 0; i < errs->n; i++) {
		const struct imp_error *e = &errs->items[i];
		json_t *j = json_pack("{s:s}", "detail", e->detail);

		if (e->pointer != NULL)
			json_object_set_new(j, "pointer", json_string(e->pointer));
		if (e->line > 0)
			json_object_set_new(j, "line", json_integer((json_int_t)e->line));
		if (e->column > 0)
			json_object_set_new(j, "column", json_integer((json_int_t)e->column));
		json_array_append_new(list, j);
	}
	return list;
}

void
imp_errors_free(struct imp_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->items[i].input);
		free(errs->items[i].pointer);
		free(errs->items[i].detail);
	}
	free(errs->items);
	*errs = (struct imp_errors){0};
}

/* ---- input files ----------------------------------------------------------------------- */

bool
imp_format_from_path(const char *path, enum imp_format *format)
{
	static const struct {
		const char *ext;
		enum imp_format format;
	} exts[] = {
		{".yml", IMP_FORMAT_XFU_YAML}, {".yaml", IMP_FORMAT_XFU_YAML}, {".md", IMP_FORMAT_PAGE},
		{".html", IMP_FORMAT_PAGE},    {".htm", IMP_FORMAT_PAGE},      {".json", IMP_FORMAT_JSON},
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot != NULL && i < sizeof exts / sizeof exts[0]; i++) {
		if (strcmp(dot, exts[i].ext) == 0) {
			*format = exts[i].format;
			return true;
		}
	}
	return false;
}

bool
imp_format_from_media_type(const char *media_type, enum imp_format *format)
{
	static const struct {
		const char *type;
		enum imp_format format;
	} types[] = {
		{"text/markdown", IMP_FORMAT_PAGE},        {"text/html", IMP_FORMAT_PAGE},
		{"application/yaml", IMP_FORMAT_XFU_YAML}, {"application/x-yaml", IMP_FORMAT_XFU_YAML},
		{"text/yaml", IMP_FORMAT_XFU_YAML},        {"application/json", IMP_FORMAT_JSON},
	};
	size_t n;

	if (media_type == NULL)
		return false;
	n = strcspn(media_type, "; \t"); /* the parameters (charset) do not choose a reader */
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		if (strlen(types[i].type) == n && strncasecmp(media_type, types[i].type, n) == 0) {
			*format = types[i].format;
			return true;
		}
	}
	return false;
}

static bool
imp__importable(const char *path)
{
	enum imp_format f;

	return imp_format_from_path(path, &f);
}

/* A list of file names: a buf of strdup'ed char *. */
#define IMP__NFILES(f) BUF_COUNT(f, char *)
#define IMP__FILE(f, i) (BUF_ITEMS(f, char *)[i])

static void
imp__files_add(struct buf *f, const char *path)
{
	char *copy = strdup(path);

	if (copy == NULL)
		abort();
	BUF_PUSH(f, copy);
}

static void
imp__files_free(struct buf *f)
{
	for (size_t i = 0; i < IMP__NFILES(f); i++)
		free(IMP__FILE(f, i));
	buf_free(f);
}

static int
imp__cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path, or the importable files under it in name order (hidden ones skipped). */
static bool
imp__collect(struct buf *f, const char *path, bool explicit, char *err, size_t errlen)
{
	struct buf names = {0};
	struct stat st;
	struct dirent *de;
	bool ok = true;
	DIR *d;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (explicit && !imp__importable(path)) {
			snprintf(err, errlen,
				 "%s: unknown input format (expected an XFU export .yml/.yaml, a download page"
				 " .md/.html or releases in the API's shape .json)",
				 path);
			return false;
		}
		if (imp__importable(path))
			imp__files_add(f, path);
		return true;
	}
	if ((d = opendir(path)) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			imp__files_add(&names, de->d_name);
	closedir(d);
	if (IMP__NFILES(&names) > 1) /* an empty folder has no array: qsort(NULL, 0, ...) is undefined */
		qsort(names.data, IMP__NFILES(&names), sizeof(char *), imp__cmp_names);
	for (size_t i = 0; ok && i < IMP__NFILES(&names); i++) {
		struct buf child = {0};

		buf_printf(&child, "%s/%s", path, IMP__FILE(&names, i));
		ok = imp__collect(f, child.data, false, err, errlen);
		buf_free(&child);
	}
	imp__files_free(&names);
	return ok;
}

/* Runs the reader of one input; its errors go to errs. */
static bool
imp__read_input(const struct imp_input *in, struct imp_sink *sink, struct imp_errors *errs)
{
	struct buf file = {0};
	char err[1024];
	bool ok = false;

	err[0] = '\0';
	switch (in->format) {
	case IMP_FORMAT_XFU_YAML:
		ok = in->data != NULL ? imp_read_xfu_yaml_buffer(in->name, in->data, in->len, sink, err, sizeof err)
				      : imp_read_xfu_yaml(in->name, sink, err, sizeof err);
		break;
	case IMP_FORMAT_PAGE:
		ok = in->data != NULL ? imp_read_page_buffer(in->name, in->data, in->len, sink, err, sizeof err)
				      : imp_read_page(in->name, sink, err, sizeof err);
		break;
	case IMP_FORMAT_JSON:
		if (in->data != NULL)
			return imp_read_json(in->name, in->data, in->len, sink, errs);
		if (!buf_read_file(&file, in->name, IMP_JSON_MAX_BYTES, err, sizeof err))
			break;
		ok = imp_read_json(in->name, file.data != NULL ? file.data : "", file.len, sink, errs);
		buf_free(&file);
		return ok;
	case IMP_FORMAT__MAX: snprintf(err, sizeof err, "%s: unknown input format", in->name); break;
	}
	if (!ok)
		imp_errors_add_message(errs, IMP_FAULT_INPUT, in->name, err);
	return ok;
}

/* Progress on stderr: a bar on a terminal, a line per tenth otherwise. */
static void
imp__progress(const struct imp_options *opt, size_t done, size_t total)
{
	static int last = -1;
	int pct;

	if (!opt->progress || total < 50)
		return;
	pct = (int)(done * 100 / total);
	if (isatty(STDERR_FILENO)) {
		if (pct == last && done != total)
			return;
		fprintf(stderr, "\rreading [%-40.*s] %3d%% %zu/%zu files", pct * 40 / 100,
			"########################################", pct, done, total);
		if (done == total)
			fputc('\n', stderr);
	} else if (pct / 10 != last / 10 || done == total) {
		fprintf(stderr, "reading: %zu/%zu files (%d%%)\n", done, total, pct);
	}
	last = pct;
}

/* ---- staging ----------------------------------------------------------------------------- */

/* Appends one COPY field (\N for NULL; backslash, tab, CR, LF escaped) and a separator. */
static void
imp__buf_field(struct buf *b, const char *value, bool last)
{
	if (value == NULL) {
		buf_put(b, "\\N", 2);
	} else {
		for (const char *p = value; *p;) {
			size_t plain = strcspn(p, "\\\t\r\n");
			const char *esc;

			buf_put(b, p, plain);
			p += plain;
			if (*p == '\0')
				break;
			esc = *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n" : "\\r";
			buf_put(b, esc, 2);
			p++;
		}
	}
	buf_put(b, last ? "\n" : "\t", 1);
}

static void
imp__buf_row(struct buf *b, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		imp__buf_field(b, fields[i], i + 1 == n);
}

struct imp__stage {
	struct imp_sink sink;
	PGconn *conn;                  /* NULL: check only */
	FILE *check_out;               /* imp_check: where rows are printed */
	struct buf releases, variants; /* COPY text format */
	unsigned long seq;
	const struct imp_options *opt;
	struct imp_summary *sum;
	bool db_failed; /* a sink call failed on the database, not on the input */
};

static const char *
imp__region_or_null(enum dom_region r)
{
	return r < DOM_REGION__MAX ? dom_region_name(r) : NULL;
}

/* The row's warnings as a PostgreSQL array literal of slugs ("{md5-invalid,size-unparsed}"). */
static void
imp__warning_array(const struct imp_row *row, char *out, size_t outlen)
{
	size_t o = 0;

	o += (size_t)snprintf(out + o, outlen - o, "{");
	for (int w = 0; w < IMP_WARN__MAX; w++)
		if (row->warnings & (1u << w))
			o += (size_t)snprintf(out + o, outlen - o, "%s%s", o > 1 ? "," : "", imp__warning_names[w]);
	snprintf(out + o, outlen - o, "}");
}

static void
imp__count_warnings(struct imp__stage *st, const struct imp_card *card, const struct imp_row *row)
{
	struct imp_summary *sum = st->sum;

	for (int w = 0; w < IMP_WARN__MAX; w++) {
		if (!(row->warnings & (1u << w)))
			continue;
		sum->warnings[w]++;
		if (st->check_out != NULL)
			continue; /* imp_check prints them with the card */
		if (sum->nwarned == sum->warned_cap) {
			sum->warned_cap = sum->warned_cap ? 2 * sum->warned_cap : 64;
			if ((sum->warned = realloc(sum->warned, sum->warned_cap * sizeof *sum->warned)) == NULL)
				abort();
		}
		sum->warned[sum->nwarned++] = (struct imp_warned){
			imp__strdup(row->file),     row->line,           imp__strdup(card->pointer),
			imp__strdup(row->filename), (enum imp_warning)w, imp__strdup(row->warning_text[w]),
		};
		if (st->opt == NULL || !st->opt->verbose)
			continue;
		if (card->pointer != NULL)
			fprintf(stderr, "%s: %s: warning (%s): %s\n", row->file, card->pointer[0] ? card->pointer : "/",
				imp__warning_names[w], row->warning_text[w]);
		else
			fprintf(stderr, "%s:%lu: warning (%s): %s\n", row->file, row->line, imp__warning_names[w],
				row->warning_text[w]);
	}
}

/* The fields a card gives, as a PostgreSQL array literal ("{branch,md5,warnings}"): under
 * imp_options.authoritative those it names explicitly and those it has a value for (and
 * its warnings, which then replace the stored ones); else none, and the import's rules
 * decide every field. */
static void
imp__given_array(const struct imp__stage *st, const struct imp_card *card, char *out, size_t outlen)
{
	static const char *const names[IMP_FIELD__MAX] = {
		[IMP_FIELD_VARIANT] = "variant", [IMP_FIELD_NAMES] = "names",
		[IMP_FIELD_BRANCH] = "branch",   [IMP_FIELD_ANDROID] = "android",
		[IMP_FIELD_SIZE] = "size",       [IMP_FIELD_MD5] = "md5",
		[IMP_FIELD_DATE] = "date",       [IMP_FIELD_CHANGELOG] = "changelog",
		[IMP_FIELD_LINKS] = "links",     [IMP_FIELD_INCREMENTAL] = "incremental",
	};
	unsigned given = card->given;
	size_t o = 0;

	if (!st->opt->authoritative) {
		snprintf(out, outlen, "{}");
		return;
	}
	given |= (card->codename != NULL && !card->codename_is_base) << IMP_FIELD_VARIANT;
	given |= (card->name != NULL) << IMP_FIELD_NAMES | (card->branch != NULL) << IMP_FIELD_BRANCH;
	given |= (card->android != NULL) << IMP_FIELD_ANDROID;
	given |= (card->size != NULL || card->has_size_bytes) << IMP_FIELD_SIZE;
	given |= (card->md5 != NULL) << IMP_FIELD_MD5 | (card->date != NULL) << IMP_FIELD_DATE;
	given |= (card->changelog != NULL) << IMP_FIELD_CHANGELOG | (card->nlinks > 0) << IMP_FIELD_LINKS;
	given |= (card->incremental_url != NULL) << IMP_FIELD_INCREMENTAL;
	o += (size_t)snprintf(out + o, outlen - o, "{warnings");
	for (int f = 0; f < IMP_FIELD__MAX; f++)
		if (given & (1u << f))
			o += (size_t)snprintf(out + o, outlen - o, ",%s", names[f]);
	snprintf(out + o, outlen - o, "}");
}

/* Sends COPY data in pieces that fit libpq's int length. */
static bool
imp__put_copy(PGconn *conn, const struct buf *buf, char *err, size_t errlen)
{
	for (size_t off = 0; off < buf->len; off += IMP__COPY_CHUNK) {
		size_t n = buf->len - off < IMP__COPY_CHUNK ? buf->len - off : IMP__COPY_CHUNK;

		if (PQputCopyData(conn, buf->data + off, (int)n) != 1) {
			snprintf(err, errlen, "database: %s", PQerrorMessage(conn));
			return false;
		}
	}
	return true;
}

static bool
imp__flush(struct imp__stage *st, char *err, size_t errlen)
{
	if (!imp__put_copy(st->conn, &st->releases, err, errlen)) {
		st->db_failed = true;
		return false;
	}
	st->releases.len = 0;
	return true;
}

static json_t *
imp__row_json(const struct imp_row *row)
{
	json_t *links = json_array(), *numbers = json_array(), *warnings = json_array(), *inc = json_null();
	char size[24];

	for (size_t i = 0; i < row->nlinks; i++)
		json_array_append_new(links, json_string(row->links[i]));
	for (size_t i = 0; i < row->ver.nnumbers; i++)
		json_array_append_new(numbers, json_integer(row->ver.numbers[i]));
	for (int w = 0; w < IMP_WARN__MAX; w++)
		if (row->warnings & (1u << w))
			json_array_append_new(warnings, json_string(imp__warning_names[w]));
	if (row->incremental_url != NULL)
		inc = json_pack("{s:s?, s:s?, s:s, s:s}", "from",
				row->incremental_from[0] ? row->incremental_from : NULL, "to",
				row->incremental_to[0] ? row->incremental_to : NULL, "filename",
				row->incremental_filename, "url", row->incremental_url);
	snprintf(size, sizeof size, "%lld", row->size);
	return json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:s?, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s?, s:s?, s:s?,"
			 " s:s?, s:o, s:s?, s:s?, s:s?, s:o, s:o, s:o}",
			 "file", row->file, "line", (json_int_t)row->line, "device", row->device, "variant",
			 row->variant[0] ? row->variant : NULL, "new_variant",
			 row->variant[0] ? NULL : row->synth_variant, "name", row->display_name, "filename",
			 row->filename, "version", row->version, "version_family", ver_family_name(row->ver.family),
			 "version_numbers", numbers, "branch", dom_branch_name(row->branch), "type",
			 dom_type_name(row->type), "region", dom_region_name(row->region), "region_by_name",
			 imp__region_or_null(row->region_by_name), "region_by_version",
			 imp__region_or_null(row->region_by_version), "region_by_filename",
			 imp__region_or_null(row->region_by_filename), "android", row->android, "size",
			 row->size >= 0 ? json_integer(row->size) : json_null(), "md5", row->md5[0] ? row->md5 : NULL,
			 "date", row->date, "changelog", row->changelog, "links", links, "incremental", inc, "warnings",
			 warnings);
}

/* Normalises one card and stages it; errors stop the run, data problems are warnings. */
static bool
imp__stage_card(struct imp_sink *sink, const struct imp_card *card, char *err, size_t errlen)
{
	struct imp__stage *st = (struct imp__stage *)sink;
	struct imp_row row;
	char seq[24], line[24], size[24], numbers[96], letter[2], warnings[512], nlinks[8], given[160];
	char *links_json;
	json_t *links;
	size_t o = 0;

	st->sum->cards++;
	if (!imp_normalize(card, &row, err, errlen))
		return false;
	imp__count_warnings(st, card, &row);
	if (st->check_out != NULL) {
		json_t *j = imp__row_json(&row);

		json_dumpf(j, st->check_out, JSON_COMPACT | JSON_ENSURE_ASCII);
		fputc('\n', st->check_out);
		json_decref(j);
		return true;
	}
	links = json_array();
	for (size_t i = 0; i < row.nlinks; i++)
		json_array_append_new(links, json_string(row.links[i]));
	links_json = json_dumps(links, JSON_COMPACT);
	json_decref(links);
	if (links_json == NULL)
		abort();
	numbers[o++] = '{';
	for (size_t i = 0; i < row.ver.nnumbers; i++)
		o += (size_t)snprintf(numbers + o, sizeof numbers - o, "%s%ld", i ? "," : "", row.ver.numbers[i]);
	snprintf(numbers + o, sizeof numbers - o, "}");
	letter[0] = row.ver.android_letter;
	letter[1] = '\0';
	imp__warning_array(&row, warnings, sizeof warnings);
	imp__given_array(st, card, given, sizeof given);
	snprintf(seq, sizeof seq, "%lu", ++st->seq);
	snprintf(line, sizeof line, "%lu", row.line);
	snprintf(size, sizeof size, "%lld", row.size);
	snprintf(nlinks, sizeof nlinks, "%zu", row.nlinks);
	{
		/* the column order of stage_release */
		const char *fields[] = {
			seq,
			row.file,
			line,
			row.variant[0] ? row.variant : NULL,
			row.variant[0] && !card->codename_made_up ? "t" : "f",
			row.device,
			row.synth_variant[0] ? row.synth_variant : NULL,
			row.filename_variant[0] ? row.filename_variant : NULL,
			row.filename_miui[0] ? row.filename_miui : NULL,
			dom_region_name(row.variant_region),
			row.display_name,
			row.filename,
			row.version,
			row.version_sort,
			ver_family_name(row.ver.family),
			numbers,
			letter[0] ? letter : NULL,
			row.ver.device_code[0] ? row.ver.device_code : NULL,
			row.ver.region_code[0] ? row.ver.region_code : NULL,
			row.ver.suffix[0] ? row.ver.suffix : NULL,
			dom_branch_name(row.branch),
			dom_type_name(row.type),
			dom_region_name(row.region),
			imp__region_or_null(row.region_by_name),
			imp__region_or_null(row.region_by_version),
			imp__region_or_null(row.region_by_filename),
			row.android,
			row.size >= 0 ? size : NULL,
			row.md5[0] ? row.md5 : NULL,
			row.date,
			row.changelog,
			links_json,
			nlinks,
			row.incremental_from[0] ? row.incremental_from : NULL,
			row.incremental_to[0] ? row.incremental_to : NULL,
			row.incremental_url ? row.incremental_filename : NULL,
			row.incremental_url,
			warnings,
			given,
		};

		imp__buf_row(&st->releases, fields, sizeof fields / sizeof fields[0]);
	}
	free(links_json);
	if (st->releases.len >= IMP__COPY_CHUNK)
		return imp__flush(st, err, errlen);
	return true;
}

static bool
imp__stage_variant(struct imp_sink *sink, const struct imp_variant *v, char *err, size_t errlen)
{
	struct imp__stage *st = (struct imp__stage *)sink;
	char base[128], seq[24];
	enum dom_region region;

	if (!params_codename_valid(v->codename)) {
		snprintf(err, errlen, "%s:%lu: codename \"%s\" is not 1 to 64 letters, digits or '_'", v->file, v->line,
			 v->codename);
		return false;
	}
	if (v->name[0] == '\0' || strlen(v->name) > 200) {
		snprintf(err, errlen, "%s:%lu: the display name of %s is empty or too long", v->file, v->line,
			 v->codename);
		return false;
	}
	st->sum->variants_read++;
	if (st->check_out != NULL)
		return true;
	region = dom_variant_split(v->codename, base);
	snprintf(seq, sizeof seq, "%lu", ++st->seq);
	{
		const char *fields[] = {seq,     v->codename,
					base,    dom_region_name(region),
					v->name, v->miui_name && v->miui_name[0] ? v->miui_name : NULL};

		imp__buf_row(&st->variants, fields, sizeof fields / sizeof fields[0]);
	}
	return true;
}

/* ---- merging ----------------------------------------------------------------------------- */

static const char imp__create_stage_release[] =
	"CREATE TEMP TABLE stage_release ("
	" seq bigint, file text, line bigint, variant text, named boolean, device text, synth_variant text,"
	" filename_variant text, filename_miui text,"
	" variant_region region, display_name text, filename text, version text,"
	" version_sort text COLLATE \"C\", version_family version_family, version_numbers integer[],"
	" android_letter text, device_code text, region_code text, version_suffix text,"
	" branch branch, type package_type, region region, region_by_name region,"
	" region_by_version region, region_by_filename region, android text, size_bytes bigint,"
	" md5 text, release_date date, changelog text, links_json text, nlinks integer,"
	" incremental_from text, incremental_to text, incremental_filename text, incremental_url text,"
	" warnings text[], given text[]) ON COMMIT DROP";

static const char imp__create_stage_variant[] =
	"CREATE TEMP TABLE stage_variant ("
	" seq bigint, variant text, device text, region region, display_name text, miui_name text)"
	" ON COMMIT DROP";

/* Devices, variants and display names, from devices.yml and from cards that name a
 * variant. Run twice: before and after the variants of page cards are resolved. */
static const char *const imp__merge_variants[] = {
	/* only rows whose variant is known: a page card's device may still change when its
	 * file name names a variant of another phone */
	"INSERT INTO device (codename)"
	" SELECT device FROM stage_variant UNION SELECT device FROM stage_release WHERE variant IS NOT NULL"
	" ON CONFLICT (codename) DO NOTHING",

	/* the last devices.yml line of a variant gives its MIUI name and the name it is listed under (sql/020) */
	"INSERT INTO variant (device_id, codename, region, miui_name, declared, listed_name)"
	" SELECT d.id, s.variant, s.region, s.miui_name, s.named, s.listed_name FROM ("
	"  SELECT variant, min(device) AS device, min(region) AS region, bool_or(named) AS named,"
	"   (array_agg(miui_name ORDER BY seq DESC) FILTER (WHERE miui_name IS NOT NULL))[1] AS miui_name,"
	"   (array_agg(listed_name ORDER BY seq DESC) FILTER (WHERE listed_name IS NOT NULL))[1] AS listed_name"
	"  FROM (SELECT seq, variant, device, region, miui_name, display_name AS listed_name, true AS named"
	"        FROM stage_variant"
	"        UNION ALL SELECT seq, variant, device, variant_region, NULL, NULL, named FROM stage_release"
	"        WHERE variant IS NOT NULL) u"
	"  GROUP BY variant) s JOIN device d ON d.codename = s.device"
	" ON CONFLICT (codename) DO UPDATE SET"
	"  miui_name = coalesce(excluded.miui_name, variant.miui_name),"
	"  declared = variant.declared OR excluded.declared,"
	"  listed_name = coalesce(excluded.listed_name, variant.listed_name)"
	" WHERE (variant.miui_name, variant.declared, variant.listed_name) IS DISTINCT FROM"
	"  (coalesce(excluded.miui_name, variant.miui_name), variant.declared OR excluded.declared,"
	"   coalesce(excluded.listed_name, variant.listed_name))",

	"INSERT INTO display_name (variant_id, name, declared)"
	" SELECT v.id, s.display_name, bool_or(s.named) FROM ("
	"  SELECT variant, display_name, true AS named FROM stage_variant"
	"  UNION ALL SELECT variant, display_name, named FROM stage_release WHERE variant IS NOT NULL) s"
	" JOIN variant v ON v.codename = s.variant WHERE s.display_name IS NOT NULL"
	" GROUP BY v.id, s.display_name"
	" ON CONFLICT (variant_id, name) DO UPDATE SET declared = true"
	" WHERE excluded.declared AND NOT display_name.declared",
};

/* The file name is the strongest evidence of a package's variant when it names a declared
 * one: fastboot "<variant>_images_...", recovery "<variant>-ota_full-..." or
 * "miui_<MIUI name>_..." (XFU lists some phones on a sibling's pages, "Redmi Note 12 Pro 4G"
 * sweet_k6a under sweet, and latest.yml files wt98007's packages under HM2013023). Every card
 * gets file_variant, the declared variant its file name names; a page card, which names only
 * the phone, also takes it as its own variant, and its device follows. Declared variants of
 * earlier imports count too: an input that declares less does not unsettle a package.
 * Several variants may share a MIUI name (munch_tr_global and munch_tw_global are both
 * MUNCHTWGlobal): the one of the release's region wins, else the one the card names, else
 * that of the card's phone, else of its display name, else the first by codename. */
#define IMP__VARIANT_FROM_FILENAME(name_in_file, variant_key)                                           \
	"UPDATE stage_release s SET file_variant = m.variant,"                                          \
	"  variant = coalesce(s.variant, m.variant), device = CASE WHEN s.variant IS NULL"              \
	"  THEN m.device ELSE s.device END"                                                             \
	" FROM (SELECT DISTINCT ON (s2.seq) s2.seq, v.codename AS variant, d.codename AS device"        \
	"       FROM stage_release s2 JOIN variant v ON v.declared AND " variant_key " = " name_in_file \
	"       JOIN device d ON d.id = v.device_id"                                                    \
	"       WHERE s2.file_variant IS NULL"                                                          \
	"       ORDER BY s2.seq, v.region = s2.region DESC, v.codename = s2.variant IS TRUE DESC,"      \
	"        d.codename = s2.device DESC, EXISTS (SELECT FROM display_name n"                       \
	"        WHERE n.variant_id = v.id AND n.name = s2.display_name) DESC, v.codename) m"           \
	" WHERE s.seq = m.seq"

static const char *const imp__variant_from_filename[] = {
	"ALTER TABLE stage_release ADD COLUMN file_variant text",
	IMP__VARIANT_FROM_FILENAME("s2.filename_variant", "v.codename"),
	IMP__VARIANT_FROM_FILENAME("s2.filename_miui", "v.miui_name"),
};

/* Otherwise, the variant is the declared one of that phone declared under that name,
 * else the region's usual codename ("cancro_global"), created when missing. Only
 * declared variants and names are searched, so that the outcome does not depend on
 * what earlier page imports created. */
static const char imp__resolve_variants[] =
	"UPDATE stage_release s SET variant = coalesce(("
	"  SELECT v.codename FROM device d JOIN variant v ON v.device_id = d.id"
	"  JOIN display_name n ON n.variant_id = v.id"
	"  WHERE d.codename = s.device AND v.declared AND n.declared AND n.name = s.display_name"
	"  ORDER BY v.codename LIMIT 1),"
	" s.synth_variant)"
	" WHERE s.variant IS NULL";

/* Whether a card (stage_release) or a package (stage_merged, stage_final) gives field f
 * under imp_options.authoritative (imp__given_array): then its value is final, NULL too. */
#define IMP__GIVEN(f) " '" f "' = ANY(given) "
#define IMP__M_GIVEN(f) " '" f "' = ANY(m.given) "

/* One row per package file. For every field the last known value wins (later inputs
 * over earlier ones, a known value over an unknown one), with these exceptions:
 * Stable beats Stable Beta (a staged rollout is relabelled Stable later, never back),
 * the longest list of mirrors wins, and warnings add up. A field a card gives
 * authoritatively (a correction) has the value of the last such card, whatever it is. */
static const char imp__merge_copies[] = "CREATE TEMP TABLE stage_merged ON COMMIT DROP AS"
					" WITH kinds AS ("
					"  SELECT filename, array_agg(DISTINCT kind ORDER BY kind) AS kinds"
					"  FROM stage_release, unnest(warnings) AS kind GROUP BY filename),"
					" givens AS ("
					"  SELECT filename, array_agg(DISTINCT g ORDER BY g) AS given"
					"  FROM stage_release, unnest(given) AS g GROUP BY filename),"
					" merged AS (SELECT filename,"
					/* the variant: a declared one the file name names, else the one an export
					 * names, else one declared under the display name, else one made up (sql/007);
					 * a correction's own */
					"  (array_agg(CASE WHEN" IMP__GIVEN(
						"variant") "THEN variant ELSE coalesce(file_variant, variant) END"
							   "   ORDER BY" IMP__GIVEN("variant") "DESC, evidence DESC, seq DESC))[1] AS variant,"
											       "  max(evidence) AS variant_evidence,"
											       "  (array_agg(version ORDER BY seq DESC))[1] AS version,"
											       "  (array_agg(version_sort ORDER BY seq DESC))[1] AS version_sort,"
											       "  (array_agg(version_family ORDER BY seq DESC))[1] AS version_family,"
											       "  (array_agg(version_numbers::text ORDER BY seq DESC))[1]::integer[] AS version_numbers,"
											       "  (array_agg(android_letter ORDER BY seq DESC))[1] AS android_letter,"
											       "  (array_agg(device_code ORDER BY seq DESC))[1] AS device_code,"
											       "  (array_agg(region_code ORDER BY seq DESC))[1] AS region_code,"
											       "  (array_agg(version_suffix ORDER BY seq DESC))[1] AS version_suffix,"
											       "  CASE WHEN (array_agg(branch ORDER BY seq DESC))[1] = 'stable-beta' AND bool_or(branch = 'stable')"
											       "        AND NOT bool_or(" IMP__GIVEN("branch") ")"
																	       "       THEN 'stable'::branch ELSE (array_agg(branch ORDER BY seq DESC))[1] END AS branch,"
																	       "  (array_agg(type ORDER BY seq DESC))[1] AS type,"
																	       "  (array_agg(region ORDER BY seq DESC))[1] AS region,"
																	       "  (array_agg(region_by_name ORDER BY seq DESC) FILTER (WHERE region_by_name IS NOT NULL))[1] AS region_by_name,"
																	       "  (array_agg(region_by_version ORDER BY seq DESC) FILTER (WHERE region_by_version IS NOT NULL))[1] AS region_by_version,"
																	       "  (array_agg(region_by_filename ORDER BY seq DESC) FILTER (WHERE region_by_filename IS NOT NULL))[1] AS region_by_filename,"
																	       "  (array_agg(android ORDER BY seq DESC) FILTER (WHERE android IS NOT NULL OR" IMP__GIVEN(
																		       "android") "))[1] AS android,"
																				  "  (array_agg(size_bytes ORDER BY seq DESC) FILTER (WHERE size_bytes IS NOT NULL OR" IMP__GIVEN("size") "))[1] AS size_bytes,"
																																	  "  (array_agg(md5 ORDER BY seq DESC) FILTER (WHERE md5 IS NOT NULL OR" IMP__GIVEN("md5") "))[1] AS md5,"
																																												   "  (array_agg(release_date ORDER BY seq DESC) FILTER (WHERE release_date IS NOT NULL OR" IMP__GIVEN(
																																													   "date") "))[1] AS release_date,"
																																														   "  (array_agg(changelog ORDER BY seq DESC) FILTER (WHERE changelog IS NOT NULL OR" IMP__GIVEN("changelog") "))[1] AS changelog,"
																																																											      "  (array_agg(links_json ORDER BY" IMP__GIVEN("links") "DESC,"
																																																																		     "   CASE WHEN" IMP__GIVEN(
																																																																			     "links") "THEN 0 ELSE nlinks END DESC, seq DESC))[1] AS links_json,"
																																																																				      "  (array_agg(incremental_from ORDER BY seq DESC) FILTER (WHERE incremental_filename IS NOT NULL"
																																																																				      "   OR" IMP__GIVEN(
																																																																					      "incremental") "))[1] AS incremental_from,"
																																																																							     "  (array_agg(incremental_to ORDER BY seq DESC) FILTER (WHERE incremental_filename IS NOT NULL"
																																																																							     "   OR" IMP__GIVEN(
																																																																								     "incremental") "))[1] AS incremental_to,"
																																																																										    "  (array_agg(incremental_filename ORDER BY seq DESC) FILTER (WHERE incremental_filename IS NOT NULL"
																																																																										    "   OR" IMP__GIVEN("incremental") "))[1] AS incremental_filename,"
																																																																														      "  (array_agg(incremental_url ORDER BY seq DESC) FILTER (WHERE incremental_filename IS NOT NULL"
																																																																														      "   OR" IMP__GIVEN("incremental") "))[1] AS incremental_url,"
																																																																																			"  count(DISTINCT md5) > 1 OR count(DISTINCT size_bytes) > 1 OR count(DISTINCT release_date) > 1"
																																																																																			"   OR count(DISTINCT android) > 1 OR count(DISTINCT branch) > 1 OR count(DISTINCT type) > 1"
																																																																																			"   OR count(DISTINCT version) > 1 AS conflicting"
																																																																																			"  FROM (SELECT s.*, CASE WHEN s.file_variant IS NOT NULL THEN 3 WHEN s.named THEN 2"
																																																																																			"        WHEN cv.declared THEN 1 ELSE 0 END AS evidence FROM stage_release s"
																																																																																			"        LEFT JOIN variant cv ON cv.codename = s.variant) stage_release"
																																																																																			"  GROUP BY filename)"
																																																																																			" SELECT m.*, coalesce(k.kinds, '{}')"
																																																																																			"  || CASE WHEN m.conflicting THEN '{conflicting-copies}'::text[] ELSE '{}' END AS warnings,"
																																																																																			"  coalesce(g.given, '{}') AS given"
																																																																																			" FROM merged m LEFT JOIN kinds k USING (filename) LEFT JOIN givens g USING (filename)";

/* The columns of release an import writes, in one order for every statement below. */
static const char *const imp__columns[] = {
	"variant_id",
	"device_id",
	"filename",
	"version",
	"version_sort",
	"version_family",
	"version_numbers",
	"android_letter",
	"device_code",
	"region_code",
	"version_suffix",
	"branch",
	"type",
	"region",
	"region_by_name",
	"region_by_version",
	"region_by_filename",
	"android",
	"size_bytes",
	"md5",
	"release_date",
	"changelog",
	"links",
	"incremental_from",
	"incremental_to",
	"incremental_filename",
	"incremental_url",
	"warnings",
};
#define IMP__NCOLUMNS (sizeof imp__columns / sizeof imp__columns[0])

/* What each release becomes, with what the database already holds taken into account:
 * a known value is never replaced by an unknown one, Stable is never demoted. A stored
 * release changes variant only on stronger evidence than it was placed on (the file name
 * over a declared variant over a made-up one, sql/007), never because an input knows less.
 * A field given authoritatively (a correction, m.given) takes the input's value. */
static const char
	imp__final[] = "CREATE TEMP TABLE stage_final ON COMMIT DROP AS"
		       " SELECT r.id AS existing_id,"
		       "  CASE WHEN k.keep THEN r.variant_id ELSE v.id END AS variant_id,"
		       "  CASE WHEN k.keep THEN r.device_id ELSE v.device_id END AS device_id,"
		       "  CASE WHEN k.keep THEN r.variant_evidence ELSE m.variant_evidence END AS variant_evidence,"
		       "  m.filename, m.version,"
		       "  m.version_sort, m.version_family, m.version_numbers, m.android_letter, m.device_code,"
		       "  m.region_code, m.version_suffix,"
		       "  CASE WHEN r.branch = 'stable' AND m.branch = 'stable-beta' AND NOT" IMP__M_GIVEN(
			       "branch") "       THEN 'stable'::branch ELSE m.branch END AS branch,"
					 "  m.type, m.region,"
					 "  coalesce(m.region_by_name, r.region_by_name) AS region_by_name,"
					 "  coalesce(m.region_by_version, r.region_by_version) AS region_by_version,"
					 "  coalesce(m.region_by_filename, r.region_by_filename) AS region_by_filename,"
					 "  CASE WHEN" IMP__M_GIVEN(
						 "android") "THEN m.android ELSE coalesce(m.android, r.android) END AS android,"
							    "  CASE WHEN" IMP__M_GIVEN(
								    "size") "THEN m.size_bytes ELSE coalesce(m.size_bytes, r.size_bytes) END AS size_bytes,"
									    "  CASE WHEN" IMP__M_GIVEN(
										    "md5") "THEN m.md5 ELSE coalesce(m.md5, r.md5) END AS md5,"
											   "  CASE WHEN" IMP__M_GIVEN(
												   "date") "THEN m.release_date ELSE coalesce(m.release_date, r.release_date) END AS release_date,"
													   "  CASE WHEN" IMP__M_GIVEN("changelog") "THEN m.changelog ELSE coalesce(m.changelog, r.changelog) END AS changelog,"
																		   "  CASE WHEN r.links IS NULL OR" IMP__M_GIVEN(
																			   "links") "OR json_array_length(m.links_json::json) >= cardinality(r.links)"
																				    "       THEN ARRAY(SELECT json_array_elements_text(m.links_json::json)) ELSE r.links END AS links,"
																				    "  CASE WHEN m.incremental_filename IS NULL AND NOT" IMP__M_GIVEN("incremental") "THEN r.incremental_from"
																														     "       ELSE m.incremental_from END AS incremental_from,"
																														     "  CASE WHEN m.incremental_filename IS NULL AND NOT" IMP__M_GIVEN("incremental") "THEN r.incremental_to"
																																								      "       ELSE m.incremental_to END AS incremental_to,"
																																								      "  CASE WHEN m.incremental_filename IS NULL AND NOT" IMP__M_GIVEN("incremental") "THEN r.incremental_filename"
																																																		       "       ELSE m.incremental_filename END AS incremental_filename,"
																																																		       "  CASE WHEN m.incremental_filename IS NULL AND NOT" IMP__M_GIVEN("incremental") "THEN r.incremental_url"
																																																													"       ELSE m.incremental_url END AS incremental_url,"
																																																													/* a correction's warnings are those of its values alone: the old ones went with them */
																																																													"  ARRAY(SELECT DISTINCT w FROM unnest(CASE WHEN" IMP__M_GIVEN("warnings") "THEN m.warnings"
																																																																						   "   ELSE coalesce(r.warnings, '{}') || m.warnings END) AS w ORDER BY w) AS warnings,"
																																																																						   "  m.given"
																																																																						   " FROM stage_merged m JOIN variant v ON v.codename = m.variant"
																																																																						   " LEFT JOIN release r ON r.filename = m.filename"
																																																																						   " CROSS JOIN LATERAL (SELECT r.id IS NOT NULL AND r.variant_evidence >= m.variant_evidence"
																																																																						   "  AND NOT" IMP__M_GIVEN(
																																																																							   "variant") "AS keep) k";

/* A correction that gives the names of a release leaves it under those names only. */
static const char imp__unlink_names[] =
	"DELETE FROM release_name rn USING stage_final f"
	" WHERE rn.release_id = f.existing_id AND 'names' = ANY(f.given)"
	" AND NOT EXISTS (SELECT FROM stage_release s JOIN variant v ON v.codename = s.variant"
	"  JOIN display_name n ON n.variant_id = v.id AND n.name = s.display_name"
	"  WHERE s.filename = f.filename AND n.id = rn.display_name_id)";

static const char imp__link_names[] = "INSERT INTO release_name (release_id, display_name_id)"
				      " SELECT DISTINCT r.id, n.id FROM stage_release s"
				      " JOIN release r ON r.filename = s.filename"
				      " JOIN variant v ON v.codename = s.variant"
				      " JOIN display_name n ON n.variant_id = v.id AND n.name = s.display_name"
				      " ON CONFLICT DO NOTHING";

/* "prefix.a, prefix.b, ..." over the import's columns (suffix "::text" when asked); free() it. */
static char *
imp__column_list(const char *prefix, const char *suffix)
{
	struct buf out = {0};

	for (size_t i = 0; i < IMP__NCOLUMNS; i++)
		buf_printf(&out, "%s%s%s%s%s", i ? ", " : "", prefix, prefix[0] ? "." : "", imp__columns[i], suffix);
	return out.data;
}

static bool
imp__changes(PGconn *conn, struct imp_summary *sum, char *err, size_t errlen)
{
	/* One row per changed field of an existing release, as text. */
	struct buf sql = {0};
	PGresult *res;
	bool ok;

	buf_puts(&sql, "SELECT f.filename, c.field, c.old, c.new FROM stage_final f"
		       " JOIN release r ON r.id = f.existing_id CROSS JOIN LATERAL (VALUES ");
	/* the variant by its codename; the device follows from it */
	buf_puts(&sql, "('variant', (SELECT codename FROM variant WHERE id = r.variant_id),"
		       " (SELECT codename FROM variant WHERE id = f.variant_id))");
	for (size_t i = 0; i < IMP__NCOLUMNS; i++)
		if (strcmp(imp__columns[i], "variant_id") != 0 && strcmp(imp__columns[i], "device_id") != 0)
			buf_printf(&sql, ", ('%s', r.%s::text, f.%s::text)", imp__columns[i], imp__columns[i],
				   imp__columns[i]);
	buf_puts(&sql, ") AS c(field, old, new) WHERE c.old IS DISTINCT FROM c.new ORDER BY 1, 2");
	ok = db_run(conn, sql.data, NULL, 0, &res, "database", err, errlen);
	buf_free(&sql);
	if (!ok)
		return false;
	sum->nchanges = (size_t)PQntuples(res);
	sum->changes = calloc(sum->nchanges + 1, sizeof *sum->changes);
	if (sum->changes == NULL)
		abort();
	for (size_t i = 0; i < sum->nchanges; i++) {
		struct imp_change *c = &sum->changes[i];

		c->filename = strdup(PQgetvalue(res, (int)i, 0));
		c->field = strdup(PQgetvalue(res, (int)i, 1));
		c->old_value = PQgetisnull(res, (int)i, 2) ? NULL : strdup(PQgetvalue(res, (int)i, 2));
		c->new_value = PQgetisnull(res, (int)i, 3) ? NULL : strdup(PQgetvalue(res, (int)i, 3));
	}
	PQclear(res);
	return true;
}

static int
imp__cmp_inserted(const void *a, const void *b)
{
	return strcmp(((const struct imp_inserted *)a)->filename, ((const struct imp_inserted *)b)->filename);
}

/* How firmly the variant is settled is bookkeeping, not a change of the release. Written after
 * the names: a release row this transaction updated is one whose names no longer move its
 * modified_at (sql/008's release_touch), and this update alone does not move it either. */
static const char imp__write_evidence[] =
	"UPDATE release r SET variant_evidence = f.variant_evidence FROM stage_final f"
	" WHERE r.id = f.existing_id AND r.variant_evidence <> f.variant_evidence";

static bool
imp__write_releases(PGconn *conn, struct imp_summary *sum, char *err, size_t errlen)
{
	char *cols = imp__column_list("", ""), *rcols = imp__column_list("r", ""), *fcols = imp__column_list("f", "");
	struct buf sql = {0};
	PGresult *res = NULL;
	bool ok = false;

	if (!db_run(conn, "SELECT count(*) FROM stage_final", NULL, 0, &res, "database", err, errlen))
		goto out;
	sum->releases = strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	buf_printf(&sql,
		   "UPDATE release r SET (%s) = ROW(%s) FROM stage_final f"
		   " WHERE r.id = f.existing_id AND (%s) IS DISTINCT FROM (%s)",
		   cols, fcols, rcols, fcols);
	if (!db_run(conn, sql.data, NULL, 0, &res, "database", err, errlen))
		goto out;
	sum->updated = strtoul(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	sql.len = 0;
	buf_printf(&sql,
		   "INSERT INTO release (%s, variant_evidence) SELECT %s, f.variant_evidence FROM stage_final f"
		   " WHERE f.existing_id IS NULL ORDER BY f.filename RETURNING id, filename",
		   cols, fcols);
	if (!db_run(conn, sql.data, NULL, 0, &res, "database", err, errlen))
		goto out;
	sum->inserted = strtoul(PQcmdTuples(res), NULL, 10);
	sum->ninserted = (size_t)PQntuples(res);
	if ((sum->inserted_list = calloc(sum->ninserted + 1, sizeof *sum->inserted_list)) == NULL)
		abort();
	for (size_t i = 0; i < sum->ninserted; i++) {
		sum->inserted_list[i].id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		sum->inserted_list[i].filename = imp__strdup(PQgetvalue(res, (int)i, 1));
	}
	/* RETURNING keeps no promised order */
	if (sum->ninserted > 1)
		qsort(sum->inserted_list, sum->ninserted, sizeof *sum->inserted_list, imp__cmp_inserted);
	PQclear(res);
	sum->unchanged = sum->releases - sum->inserted - sum->updated;
	ok = true;
out:
	buf_free(&sql);
	free(cols);
	free(rcols);
	free(fcols);
	return ok;
}

static bool
imp__merge_all(PGconn *conn, struct imp_summary *sum, char *err, size_t errlen)
{
	size_t nv = sizeof imp__merge_variants / sizeof imp__merge_variants[0];
	PGresult *res;

	for (size_t i = 0; i < nv; i++)
		if (!db_run(conn, imp__merge_variants[i], NULL, 0, NULL, "database", err, errlen))
			return false;
	for (size_t i = 0; i < sizeof imp__variant_from_filename / sizeof imp__variant_from_filename[0]; i++)
		if (!db_run(conn, imp__variant_from_filename[i], NULL, 0, NULL, "database", err, errlen))
			return false;
	if (!db_run(conn, imp__resolve_variants, NULL, 0, NULL, "database", err, errlen))
		return false;
	for (size_t i = 0; i < nv; i++)
		if (!db_run(conn, imp__merge_variants[i], NULL, 0, NULL, "database", err, errlen))
			return false;
	if (!db_run(conn, imp__merge_copies, NULL, 0, NULL, "database", err, errlen) ||
	    !db_run(conn, "SELECT count(*) FROM stage_merged WHERE conflicting", NULL, 0, &res, "database", err,
		    errlen))
		return false;
	/* counted per package, not per card: the copies disagree with each other */
	sum->warnings[IMP_WARN_CONFLICTING_COPIES] = strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return db_run(conn, imp__final, NULL, 0, NULL, "database", err, errlen) &&
	       imp__changes(conn, sum, err, errlen) && imp__write_releases(conn, sum, err, errlen) &&
	       db_run(conn, imp__link_names, NULL, 0, NULL, "database", err, errlen) &&
	       db_run(conn, imp__unlink_names, NULL, 0, NULL, "database", err, errlen) &&
	       db_run(conn, imp__write_evidence, NULL, 0, NULL, "database", err, errlen);
}

/* Ends a COPY; with abort_reason the server discards what it received. */
static bool
imp__copy_end(PGconn *conn, const char *abort_reason, char *err, size_t errlen)
{
	PGresult *res;
	bool ok = PQputCopyEnd(conn, abort_reason) == 1;

	while ((res = PQgetResult(conn)) != NULL) {
		if (ok && abort_reason == NULL && PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "database: %s", PQresultErrorMessage(res));
			ok = false;
		}
		PQclear(res);
	}
	return ok;
}

static bool
imp__copy_start(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	bool ok = PQresultStatus(res) == PGRES_COPY_IN;

	if (!ok)
		snprintf(err, errlen, "database: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* Who and how, for the audit triggers: transaction-local, set right after BEGIN. */
static bool
imp__attribute(PGconn *conn, const struct imp_options *opt, char *err, size_t errlen)
{
	const char *params[] = {opt->actor ? opt->actor : "", opt->via ? opt->via : "",
				opt->request_id ? opt->request_id : "", opt->reason ? opt->reason : ""};

	return db_run(conn,
		      "SELECT set_config('romtrack.actor', $1, true), set_config('romtrack.via', $2, true),"
		      " set_config('romtrack.request_id', $3, true), set_config('romtrack.reason', $4, true)",
		      params, 4, NULL, "database", err, errlen);
}

bool
imp_run_inputs(PGconn *conn, const struct imp_input *inputs, size_t ninputs, const struct imp_options *opt,
	       struct imp_summary *sum, struct imp_errors *errs)
{
	struct imp__stage st = {
		.sink = {.card = imp__stage_card, .variant = imp__stage_variant},
		.conn = conn,
		.opt = opt,
		.sum = sum,
	};
	bool ok = false, in_tx = false, in_copy = false;
	char err[1024];

	memset(sum, 0, sizeof *sum);
	if (!db_run(conn, "BEGIN", NULL, 0, NULL, "database", err, sizeof err))
		goto db_fail;
	in_tx = true;
	/* One import at a time: concurrent merges would count each other's rows. */
	if (!imp__attribute(conn, opt, err, sizeof err) ||
	    !db_run(conn, "SELECT pg_advisory_xact_lock(7201453)", NULL, 0, NULL, "database", err, sizeof err) ||
	    !db_run(conn, imp__create_stage_release, NULL, 0, NULL, "database", err, sizeof err) ||
	    !db_run(conn, imp__create_stage_variant, NULL, 0, NULL, "database", err, sizeof err) ||
	    !imp__copy_start(conn, "COPY stage_release FROM STDIN", err, sizeof err))
		goto db_fail;
	in_copy = true;
	/* Cards stream to the server while the next inputs are parsed. */
	for (size_t i = 0; i < ninputs; i++) {
		if (!imp__read_input(&inputs[i], &st.sink, errs)) {
			if (st.db_failed)
				errs->fault = IMP_FAULT_INTERNAL;
			goto out;
		}
		sum->files++;
		imp__progress(opt, i + 1, ninputs);
	}
	if (!imp__flush(&st, err, sizeof err))
		goto db_fail;
	in_copy = false;
	if (!imp__copy_end(conn, NULL, err, sizeof err) ||
	    !imp__copy_start(conn, "COPY stage_variant FROM STDIN", err, sizeof err))
		goto db_fail;
	if (!imp__put_copy(conn, &st.variants, err, sizeof err) || !imp__copy_end(conn, NULL, err, sizeof err) ||
	    !imp__merge_all(conn, sum, err, sizeof err))
		goto db_fail;
	if (!db_run(conn, opt->dry_run ? "ROLLBACK" : "COMMIT", NULL, 0, NULL, "database", err, sizeof err))
		goto db_fail;
	in_tx = false;
	ok = true;
	goto out;
db_fail:
	imp_errors_add(errs, IMP_FAULT_INTERNAL, NULL, NULL, 0, 0, "%s", err);
out:
	if (in_copy) {
		char ignored[256]; /* errs already says why the import stopped */

		imp__copy_end(conn, "import stopped", ignored, sizeof ignored);
	}
	if (in_tx)
		PQclear(PQexec(conn, "ROLLBACK"));
	buf_free(&st.releases);
	buf_free(&st.variants);
	return ok;
}

/* The files under paths as inputs (each named by its path, read when its turn comes). */
static bool
imp__path_inputs(const char *const *paths, size_t npaths, struct buf *files, struct imp_input **inputs, char *err,
		 size_t errlen)
{
	for (size_t i = 0; i < npaths; i++)
		if (!imp__collect(files, paths[i], true, err, errlen))
			return false;
	if ((*inputs = calloc(IMP__NFILES(files) + 1, sizeof **inputs)) == NULL)
		abort();
	for (size_t i = 0; i < IMP__NFILES(files); i++) {
		(*inputs)[i].name = IMP__FILE(files, i);
		imp_format_from_path(IMP__FILE(files, i), &(*inputs)[i].format);
	}
	return true;
}

bool
imp_run(PGconn *conn, const char *const *paths, size_t npaths, const struct imp_options *opt, struct imp_summary *sum,
	struct imp_errors *errs)
{
	struct imp_input *inputs = NULL;
	struct buf files = {0};
	char err[1024];
	bool ok = false;

	memset(sum, 0, sizeof *sum);
	if (!imp__path_inputs(paths, npaths, &files, &inputs, err, sizeof err))
		imp_errors_add_message(errs, IMP_FAULT_INPUT, NULL, err);
	else
		ok = imp_run_inputs(conn, inputs, IMP__NFILES(&files), opt, sum, errs);
	free(inputs);
	imp__files_free(&files);
	return ok;
}

bool
imp_check(const char *const *paths, size_t npaths, FILE *out, struct imp_summary *sum, char *err, size_t errlen)
{
	static const struct imp_options quiet = {0};
	struct imp__stage st = {
		.sink = {.card = imp__stage_card, .variant = imp__stage_variant},
		.check_out = out,
		.opt = &quiet,
		.sum = sum,
	};
	struct imp_errors errs = {0};
	struct imp_input *inputs = NULL;
	struct buf files = {0};
	bool ok = false;

	memset(sum, 0, sizeof *sum);
	if (!imp__path_inputs(paths, npaths, &files, &inputs, err, errlen))
		goto out;
	for (size_t i = 0; i < IMP__NFILES(&files); i++) {
		if (!imp__read_input(&inputs[i], &st.sink, &errs)) {
			/* every error, one a line */
			size_t o = 0;

			err[0] = '\0';
			for (size_t e = 0; e < errs.n && o + 1 < errlen; e++) {
				if (e > 0)
					err[o++] = '\n';
				imp_error_format(&errs.items[e], err + o, errlen - o);
				o += strlen(err + o);
			}
			goto out;
		}
		sum->files++;
	}
	ok = true;
out:
	imp_errors_free(&errs);
	free(inputs);
	imp__files_free(&files);
	return ok;
}

json_t *
imp_summary_json(const struct imp_summary *sum, const struct imp_options *opt)
{
	json_t *w = json_object(), *changes = json_array(), *inserted = json_array(), *details = json_array();

	for (int k = 0; k < IMP_WARN__MAX; k++)
		json_object_set_new(w, imp_warning_name((enum imp_warning)k),
				    json_integer((json_int_t)sum->warnings[k]));
	for (size_t i = 0; i < sum->nchanges; i++)
		json_array_append_new(changes, json_pack("{s:s, s:s, s:s?, s:s?}", "filename", sum->changes[i].filename,
							 "field", sum->changes[i].field, "old",
							 sum->changes[i].old_value, "new", sum->changes[i].new_value));
	for (size_t i = 0; i < sum->ninserted; i++)
		/* a dry run's ids were never committed: no one can ask for them */
		json_array_append_new(inserted,
				      json_pack("{s:o, s:s}", "id",
						opt->dry_run ? json_null()
							     : json_integer((json_int_t)sum->inserted_list[i].id),
						"filename", sum->inserted_list[i].filename));
	for (size_t i = 0; i < sum->nwarned; i++) {
		const struct imp_warned *x = &sum->warned[i];
		json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "input", x->input, "filename", x->filename, "warning",
				      imp_warning_name(x->kind), "detail", x->detail);

		if (x->pointer != NULL)
			json_object_set_new(j, "pointer", json_string(x->pointer));
		else
			json_object_set_new(j, "line", json_integer((json_int_t)x->line));
		json_array_append_new(details, j);
	}
	return json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "dry_run", opt->dry_run,
			 "authoritative", opt->authoritative, "files", (json_int_t)sum->files, "cards",
			 (json_int_t)sum->cards, "variant_names", (json_int_t)sum->variants_read, "releases",
			 (json_int_t)sum->releases, "inserted", (json_int_t)sum->inserted, "updated",
			 (json_int_t)sum->updated, "unchanged", (json_int_t)sum->unchanged, "warnings", w,
			 "warning_details", details, "changes", changes, "inserted_releases", inserted);
}

void
imp_summary_free(struct imp_summary *sum)
{
	for (size_t i = 0; i < sum->nchanges; i++) {
		free(sum->changes[i].filename);
		free(sum->changes[i].field);
		free(sum->changes[i].old_value);
		free(sum->changes[i].new_value);
	}
	free(sum->changes);
	for (size_t i = 0; i < sum->ninserted; i++)
		free(sum->inserted_list[i].filename);
	free(sum->inserted_list);
	for (size_t i = 0; i < sum->nwarned; i++) {
		free(sum->warned[i].input);
		free(sum->warned[i].pointer);
		free(sum->warned[i].filename);
		free(sum->warned[i].detail);
	}
	free(sum->warned);
	memset(sum, 0, sizeof *sum);
}
