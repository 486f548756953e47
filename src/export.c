/* XFU's file formats: latest.yml and devices.yml through a libyaml emitter (or jansson), the RSS feeds as text. */
#include "export.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "domain.h"
#include "queries.h"

/* Python humanize's naturalsize(bytes), which XFU's tracker writes its sizes with: decimal units, one decimal. */
void
exp_format_size(long long bytes, char *out, size_t outlen)
{
	static const char *const units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
	double unit = 1e6, magnitude = bytes < 0 ? -(double)bytes : (double)bytes;

	if (llabs(bytes) == 1) {
		snprintf(out, outlen, "%lld Byte", bytes);
		return;
	}
	if (llabs(bytes) < 1000) {
		snprintf(out, outlen, "%lld Bytes", bytes);
		return;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++, unit *= 1000)
		if (magnitude < unit || i + 1 == sizeof units / sizeof units[0]) {
			/* the same operations as naturalsize's (1000 * bytes / unit), so that the same value rounds
			 * alike */
			snprintf(out, outlen, "%.1f %s", 1000.0 * (double)bytes / unit, units[i]);
			return;
		}
}

/* The site's spelling of a branch or type ("stable-beta" -> "Stable Beta"). */
static void
exp__site_word(const char *api, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; api[i] && i + 1 < outlen; i++) {
		char c = api[i] == '-' ? ' ' : api[i];

		out[i] = (i == 0 || api[i - 1] == '-') && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
	out[i] = '\0';
}

/* A column's text, NULL for SQL NULL. */
static const char *
exp__value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* ---- YAML ---------------------------------------------------------------------------------- */

/* A YAML emitter writing through an exp_write_fn; ok stays false after the first failure. */
struct exp__yaml {
	yaml_emitter_t em;
	exp_write_fn write;
	void *data;
	bool ok;
	char err[256];
};

static int
exp__yaml_output(void *data, unsigned char *buffer, size_t size)
{
	struct exp__yaml *y = data;

	return y->write(y->data, (const char *)buffer, size);
}

static void
exp__emit(struct exp__yaml *y, yaml_event_t *ev)
{
	if (!y->ok) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&y->em, ev)) {
		snprintf(y->err, sizeof y->err, "writing YAML: %s",
			 y->em.error == YAML_WRITER_ERROR ? "the output failed"
			 : y->em.problem                  ? y->em.problem
							  : "error");
		y->ok = false;
	}
}

/* A plain scalar unless it would read back as something else than the text (YAML 1.1's implicit types, as a
 * reader such as PyYAML resolves them: numbers, booleans, null); quote forces single quotes. NULL writes null. */
static bool
exp__implicit_type(const char *s)
{
	static const char *const words[] = {"y",    "Y",  "yes",  "Yes",  "YES",  "n",     "N",     "no",
					    "No",   "NO", "true", "True", "TRUE", "false", "False", "FALSE",
					    "on",   "On", "ON",   "off",  "Off",  "OFF",   "null",  "Null",
					    "NULL", "~",  ".inf", ".Inf", ".INF", ".nan",  ".NaN",  ".NAN"};
	char *end;

	if (*s == '\0')
		return true;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	(void)strtod(s, &end);
	return *end == '\0';
}

static void
exp__scalar(struct exp__yaml *y, const char *value, bool quote)
{
	yaml_event_t ev;

	if (value == NULL)
		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)"null", 4, 1, 1, YAML_PLAIN_SCALAR_STYLE);
	else
		/* libyaml copies the value; its prototype merely lacks the const */
		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)value, (int)strlen(value), 1, 1,
					     quote || exp__implicit_type(value) ? YAML_SINGLE_QUOTED_SCALAR_STYLE
										: YAML_ANY_SCALAR_STYLE);
	exp__emit(y, &ev);
}

/* Starts the stream, the document and its root (a block sequence or mapping). */
static void
exp__yaml_begin(struct exp__yaml *y, bool mapping, exp_write_fn write, void *data)
{
	yaml_event_t ev;

	y->write = write;
	y->data = data;
	y->ok = true;
	y->err[0] = '\0';
	yaml_emitter_initialize(&y->em);
	yaml_emitter_set_output(&y->em, exp__yaml_output, y);
	yaml_emitter_set_unicode(&y->em, 1);
	yaml_emitter_set_width(&y->em, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	exp__emit(y, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	exp__emit(y, &ev);
	if (mapping)
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	else
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
	exp__emit(y, &ev);
}

/* Ends what exp__yaml_begin started and frees the emitter; whether everything was written. */
static bool
exp__yaml_end(struct exp__yaml *y, bool mapping, char *err, size_t errlen)
{
	yaml_event_t ev;

	if (mapping)
		yaml_mapping_end_event_initialize(&ev);
	else
		yaml_sequence_end_event_initialize(&ev);
	exp__emit(y, &ev);
	yaml_document_end_event_initialize(&ev, 1);
	exp__emit(y, &ev);
	yaml_stream_end_event_initialize(&ev);
	exp__emit(y, &ev);
	yaml_emitter_delete(&y->em);
	if (!y->ok)
		snprintf(err, errlen, "%s", y->err);
	return y->ok;
}

/* ---- latest.yml ------------------------------------------------------------------------------ */

struct exp_latest {
	enum exp_format format;
	bool all;
	size_t rows;
	struct exp__yaml yaml; /* EXP_YAML */
	exp_write_fn write;    /* EXP_JSON */
	void *data;
	bool json_ok;
};

/* One entry as (key, value) pairs in XFU's key order; NULL values are written as null. */
struct exp__entry {
	const char *keys[16];
	const char *values[16];
	size_t n;
	json_t *mirrors; /* only with all */
	char branch[64], method[64], size[64];
};

static void
exp__entry(const PGresult *res, int row, bool all, struct exp__entry *e)
{
	const char *v[XFUCOL__MAX];

	for (int c = 0; c < XFUCOL__MAX; c++)
		v[c] = exp__value(res, row, c);
	exp__site_word(v[XFUCOL_BRANCH], e->branch, sizeof e->branch);
	exp__site_word(v[XFUCOL_METHOD], e->method, sizeof e->method);
	if (v[XFUCOL_SIZE] != NULL)
		exp_format_size(strtoll(v[XFUCOL_SIZE], NULL, 10), e->size, sizeof e->size);
	e->n = 0;
#define EXP__KV(k, val) (e->keys[e->n] = (k), e->values[e->n++] = (val))
	EXP__KV("android", v[XFUCOL_ANDROID]);
	EXP__KV("branch", e->branch);
	EXP__KV("codename", v[XFUCOL_CODENAME]);
	EXP__KV("date", v[XFUCOL_DATE]);
	EXP__KV("link", v[XFUCOL_LINK]);
	EXP__KV("md5", v[XFUCOL_MD5]); /* null when unknown, as XFU writes it */
	EXP__KV("method", e->method);
	EXP__KV("name", v[XFUCOL_NAME]);
	EXP__KV("size", v[XFUCOL_SIZE] ? e->size : NULL);
	EXP__KV("version", v[XFUCOL_VERSION]);
	e->mirrors = NULL;
	if (all) {
		EXP__KV("changelog", v[XFUCOL_CHANGELOG]);
		EXP__KV("filename", v[XFUCOL_FILENAME]);
		EXP__KV("incremental", v[XFUCOL_INCREMENTAL]);
		/* a variant romtrack made up stays undeclared when the dump is imported */
		if (strcmp(v[XFUCOL_DECLARED], "f") == 0)
			EXP__KV("declared", "false");
		e->mirrors = json_loads(v[XFUCOL_MIRRORS] ? v[XFUCOL_MIRRORS] : "[]", 0, NULL);
	}
#undef EXP__KV
}

static void
exp__yaml_entry(struct exp__yaml *y, const struct exp__entry *e)
{
	yaml_event_t ev;

	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	exp__emit(y, &ev);
	for (size_t i = 0; i < e->n; i++) {
		exp__scalar(y, e->keys[i], false);
		/* android always quoted, as XFU writes it ("4.4.4" too); a date stays plain, a YAML date as in XFU's */
		exp__scalar(y, e->values[i], strcmp(e->keys[i], "android") == 0);
	}
	if (e->mirrors != NULL && json_array_size(e->mirrors) > 0) {
		exp__scalar(y, "mirrors", false);
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		exp__emit(y, &ev);
		for (size_t i = 0; i < json_array_size(e->mirrors); i++)
			exp__scalar(y, json_string_value(json_array_get(e->mirrors, i)), false);
		yaml_sequence_end_event_initialize(&ev);
		exp__emit(y, &ev);
	}
	yaml_mapping_end_event_initialize(&ev);
	exp__emit(y, &ev);
}

static json_t *
exp__json_entry(const struct exp__entry *e)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < e->n; i++)
		json_object_set_new(obj, e->keys[i], e->values[i] ? json_string(e->values[i]) : json_null());
	if (e->mirrors != NULL && json_array_size(e->mirrors) > 0)
		json_object_set(obj, "mirrors", e->mirrors);
	return obj;
}

static void
exp__json_put(struct exp_latest *w, const char *s, size_t len)
{
	w->json_ok = w->json_ok && w->write(w->data, s, len);
}

struct exp_latest *
exp_latest_begin(enum exp_format format, bool all, exp_write_fn write, void *data)
{
	struct exp_latest *w = calloc(1, sizeof *w);

	if (w == NULL)
		abort(); /* as arena_alloc and buf do */
	w->format = format;
	w->all = all;
	if (format == EXP_YAML) {
		exp__yaml_begin(&w->yaml, false, write, data);
	} else {
		w->write = write;
		w->data = data;
		w->json_ok = true;
		exp__json_put(w, "[", 1);
	}
	return w;
}

void
exp_latest_row(struct exp_latest *w, const PGresult *res, int row)
{
	struct exp__entry e;

	exp__entry(res, row, w->all, &e);
	if (w->format == EXP_YAML) {
		exp__yaml_entry(&w->yaml, &e);
	} else {
		json_t *obj = exp__json_entry(&e);
		char *text = json_dumps(obj, JSON_COMPACT);

		exp__json_put(w, w->rows ? ",\n  " : "\n  ", w->rows ? 4 : 3);
		if (text != NULL)
			exp__json_put(w, text, strlen(text));
		w->json_ok = w->json_ok && text != NULL;
		free(text);
		json_decref(obj);
	}
	json_decref(e.mirrors);
	w->rows++;
}

bool
exp_latest_end(struct exp_latest *w, char *err, size_t errlen)
{
	bool ok;

	if (w->format == EXP_YAML) {
		ok = exp__yaml_end(&w->yaml, false, err, errlen);
	} else {
		exp__json_put(w, w->rows ? "\n]\n" : "]\n", w->rows ? 3 : 2);
		ok = w->json_ok;
		if (!ok)
			snprintf(err, errlen, "writing the output failed");
	}
	free(w);
	return ok;
}

/* ---- devices.yml ----------------------------------------------------------------------------- */

bool
exp_devices(const PGresult *res, exp_write_fn write, void *data, char *err, size_t errlen)
{
	struct exp__yaml y;
	yaml_event_t ev;

	exp__yaml_begin(&y, true, write, data);
	for (int i = 0; i < PQntuples(res) && y.ok; i++) {
		const char *miui_name = exp__value(res, i, 2);

		exp__scalar(&y, PQgetvalue(res, i, 0), false);
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		exp__emit(&y, &ev);
		exp__scalar(&y, PQgetvalue(res, i, 1), false);
		if (miui_name != NULL) /* XFU always knows it; a variant declared without one lists its name alone */
			exp__scalar(&y, miui_name, false);
		yaml_sequence_end_event_initialize(&ev);
		exp__emit(&y, &ev);
	}
	return exp__yaml_end(&y, true, err, errlen);
}

/* ---- RSS ------------------------------------------------------------------------------------- */

/* Text as XML character data, escaped as XFU's writer (lxml) escapes it: &, <, > and CR; characters XML cannot
 * hold (C0 controls other than tab and newline) are left out. libxml2's text writer would also escape '"',
 * which XFU's feeds do not. */
static void
exp__xml_text(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '&')
			buf_puts(b, "&amp;");
		else if (c == '<')
			buf_puts(b, "&lt;");
		else if (c == '>')
			buf_puts(b, "&gt;");
		else if (c == '\r')
			buf_puts(b, "&#13;");
		else if (c >= 0x20 || c == '\t' || c == '\n')
			buf_put(b, &s[i], 1);
	}
}

static void
exp__xml_element(struct buf *b, const char *name, const char *text)
{
	buf_printf(b, "<%s>", name);
	exp__xml_text(b, text, strlen(text));
	buf_printf(b, "</%s>", name);
}

/* The length of the line break at s, as Python's str.splitlines() knows them (0 when none). */
static size_t
exp__line_break(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] == '\r')
		return u[1] == '\n' ? 2 : 1;
	if (u[0] == '\n' || u[0] == '\v' || u[0] == '\f' || (u[0] >= 0x1c && u[0] <= 0x1e))
		return 1;
	if (u[0] == 0xc2 && u[1] == 0x85) /* NEL */
		return 2;
	if (u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9)) /* line and paragraph separators */
		return 3;
	return 0;
}

/* The changelog's lines joined with <br>, as XFU's '<br>'.join(changelog.splitlines()): a last line break
 * starts no empty line. */
static void
exp__changelog_html(struct buf *html, const char *changelog)
{
	const char *p = changelog;

	while (*p) {
		size_t n;

		if ((n = exp__line_break(p)) > 0) {
			p += n;
			if (*p)
				buf_puts(html, "<br>");
		} else {
			buf_put(html, p++, 1);
		}
	}
}

/* One item: XFU's title, link, description (HTML, escaped as text) and pubDate, in that order. The
 * description's first paragraph lacks its '>' in XFU's feeds ("<p<b>New ..."): kept, since it is XFU's shape. */
static void
exp__rss_item(struct buf *b, struct buf *html, const PGresult *res, int row, const char *codename)
{
	const char *v[XFUCOL__MAX];
	char branch[64], method[64], size[64];

	for (int c = 0; c < XFUCOL__MAX; c++)
		v[c] = exp__value(res, row, c);
	/* a variant without any display name (declared nowhere): its codename stands for the name */
	if (v[XFUCOL_NAME] == NULL)
		v[XFUCOL_NAME] = v[XFUCOL_CODENAME];
	exp__site_word(v[XFUCOL_BRANCH], branch, sizeof branch);
	exp__site_word(v[XFUCOL_METHOD], method, sizeof method);
	/* what XFU's Python writes for a value it lacks (its f-string of None); a size it always has */
	if (v[XFUCOL_SIZE] != NULL)
		exp_format_size(strtoll(v[XFUCOL_SIZE], NULL, 10), size, sizeof size);
	else
		snprintf(size, sizeof size, "None");
	html->len = 0;
	buf_printf(html, "<p<b>New %s %s update available!</b></p>\n", branch, method);
	buf_printf(html, "<p><b>Device:</b> %s</p>\n", v[XFUCOL_NAME]);
	buf_printf(html, "<p><b>Codename:</b> %s</p>\n", codename);
	buf_printf(html, "<p><b>Version:</b> %s | %s</p>\n", v[XFUCOL_VERSION],
		   v[XFUCOL_ANDROID] ? v[XFUCOL_ANDROID] : "None");
	buf_printf(html, "<p><b>Size:</b> %s</p>\n", size);
	buf_printf(html, "<p><b>MD5:</b> %s</p>\n", v[XFUCOL_MD5] ? v[XFUCOL_MD5] : "None");
	buf_puts(html, "<p><b>Changelog:</b><br>");
	exp__changelog_html(html, v[XFUCOL_CHANGELOG] ? v[XFUCOL_CHANGELOG] : "");
	buf_printf(html, "</p>\n<p><b>Download:</b> <a href='%s'>Here</a></p>", v[XFUCOL_LINK]);
	if (strcmp(v[XFUCOL_METHOD], "recovery") == 0 && v[XFUCOL_INCREMENTAL] != NULL)
		buf_printf(html, "<p><b>Incremental Update:</b> <a href='%s'>Here</a></p>", v[XFUCOL_INCREMENTAL]);

	buf_puts(b, "<item>");
	buf_puts(b, "<title>");
	buf_puts(b, "MIUI ");
	exp__xml_text(b, v[XFUCOL_VERSION], strlen(v[XFUCOL_VERSION]));
	buf_printf(b, " %s update for ", method);
	exp__xml_text(b, v[XFUCOL_NAME], strlen(v[XFUCOL_NAME]));
	buf_puts(b, "</title>");
	exp__xml_element(b, "link", v[XFUCOL_LINK]);
	buf_puts(b, "<description>");
	exp__xml_text(b, html->data, html->len);
	buf_puts(b, "</description>");
	if (v[XFUCOL_PUBLISHED] != NULL)
		exp__xml_element(b, "pubDate", v[XFUCOL_PUBLISHED]);
	buf_puts(b, "</item>");
}

bool
exp_rss(const PGresult *res, const struct exp_rss_channel *channel, exp_write_fn write, void *data)
{
	struct buf b = {0}, html = {0}, title = {0};
	int newest = -1;
	bool ok;

	/* the feed changes when its newest entry does */
	for (int i = 0; i < PQntuples(res); i++)
		if (newest < 0 ||
		    strcmp(PQgetvalue(res, i, XFUCOL_MODIFIED_ISO), PQgetvalue(res, newest, XFUCOL_MODIFIED_ISO)) > 0)
			newest = i;
	buf_printf(&title, "%.*s MIUI Updates Tracker by romtrack", (int)dom_name_without_region(channel->device_name),
		   channel->device_name);
	buf_puts(&b, "<?xml version='1.0' encoding='UTF-8'?>\n"
		     "<rss xmlns:atom=\"http://www.w3.org/2005/Atom\""
		     " xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" version=\"2.0\"><channel>");
	exp__xml_element(&b, "title", title.data);
	exp__xml_element(&b, "link", channel->link);
	exp__xml_element(&b, "description", "MIUI and HyperOS ROM releases, live from romtrack");
	exp__xml_element(&b, "docs", "http://www.rssboard.org/rss-specification");
	exp__xml_element(&b, "generator", "romtrack");
	exp__xml_element(&b, "language", "en");
	if (newest >= 0)
		exp__xml_element(&b, "lastBuildDate", PQgetvalue(res, newest, XFUCOL_MODIFIED));
	for (int i = 0; i < PQntuples(res); i++)
		exp__rss_item(&b, &html, res, i, channel->codename);
	buf_puts(&b, "</channel></rss>\n");
	ok = write(data, b.data, b.len);
	buf_free(&b);
	buf_free(&html);
	buf_free(&title);
	return ok;
}
