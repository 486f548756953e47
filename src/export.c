/* Export: rows streamed from PostgreSQL (single-row mode) to a libyaml emitter or jansson. */
#include "export.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "db.h"

/* One row per release and display name. The latest export writes it under the variant of
 * the name (XFU's codename for that name: wt98007's packages, which their file names place
 * in wt98007, are listed under HM2013023's names in latest.yml); a dump (--all, $1) under
 * the release's own variant, so that importing it settles every release where it is. A
 * release without a name is written under its variant's first name. Withdrawn releases (sql/011) are
 * in neither: they are offered nowhere, and a dump imported elsewhere must not bring them back. */
#define EXP__ENTRIES                                                                             \
	"SELECT r.*, rn.display_name_id,"                                                        \
	" CASE WHEN $1::boolean THEN r.variant_id ELSE coalesce(n.variant_id, r.variant_id) END" \
	" AS entry_variant"                                                                      \
	" FROM release r LEFT JOIN release_name rn ON rn.release_id = r.id"                      \
	" LEFT JOIN display_name n ON n.id = rn.display_name_id"                                 \
	" WHERE r.withdrawn_at IS NULL"

/* The newest release per codename, branch and type, as the API decides it (the column "newest"
 * of sql/009). */
#define EXP__LATEST                                                                                    \
	"SELECT DISTINCT ON (entry_variant, branch, type) id, entry_variant FROM (" EXP__ENTRIES ") e" \
	" ORDER BY entry_variant, branch, type, newest DESC"

/* Codenames in byte order, as XFU sorts them. */
static const char exp__sql[] =
	"SELECT e.android, e.branch::text, v.codename, to_char(e.release_date, 'YYYY-MM-DD'),"
	" e.links[1], e.md5, e.type::text,"
	" coalesce(n.name, (SELECT min(name) FROM display_name WHERE variant_id = v.id)),"
	" e.size_bytes, e.version, e.changelog, array_to_json(e.links[2:])::text, e.incremental_url,"
	" e.filename, v.declared"
	" FROM (" EXP__ENTRIES ") e JOIN variant v ON v.id = e.entry_variant"
	" LEFT JOIN display_name n ON n.id = e.display_name_id"
	" WHERE $1::boolean OR (e.id, e.entry_variant) IN (" EXP__LATEST ")"
	" ORDER BY v.codename COLLATE \"C\", e.branch, e.type, e.sort_date DESC, e.version_sort DESC, e.id,"
	" n.name COLLATE \"C\"";

enum {
	EXP_ANDROID,
	EXP_BRANCH,
	EXP_CODENAME,
	EXP_DATE,
	EXP_LINK,
	EXP_MD5,
	EXP_METHOD,
	EXP_NAME,
	EXP_SIZE,
	EXP_VERSION,
	EXP_CHANGELOG,
	EXP_MIRRORS,
	EXP_INCREMENTAL,
	EXP_FILENAME,
	EXP_DECLARED,
	EXP__NCOLS
};

void
exp_format_size(long long bytes, char *out, size_t outlen)
{
	if (bytes >= 1000000000LL)
		snprintf(out, outlen, "%.1f GB", (double)bytes / 1e9);
	else if (bytes >= 1000000LL)
		snprintf(out, outlen, "%.1f MB", (double)bytes / 1e6);
	else if (bytes >= 1000LL)
		snprintf(out, outlen, "%.1f KB", (double)bytes / 1e3);
	else
		snprintf(out, outlen, "%lld Bytes", bytes);
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

/* One entry as (key, value) pairs in XFU's key order; NULL values are written as null. */
struct exp__entry {
	const char *keys[16];
	const char *values[16];
	size_t n;
	json_t *mirrors; /* only with all */
};

static void
exp__entry(const PGresult *res, bool all, struct exp__entry *e, char bufs[4][64])
{
	const char *v[EXP__NCOLS];

	for (int c = 0; c < EXP__NCOLS; c++)
		v[c] = PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c);
	exp__site_word(v[EXP_BRANCH], bufs[0], 64);
	exp__site_word(v[EXP_METHOD], bufs[1], 64);
	if (v[EXP_SIZE] != NULL)
		exp_format_size(strtoll(v[EXP_SIZE], NULL, 10), bufs[2], 64);
	e->n = 0;
#define EXP__KV(k, val) (e->keys[e->n] = (k), e->values[e->n++] = (val))
	EXP__KV("android", v[EXP_ANDROID]);
	EXP__KV("branch", bufs[0]);
	EXP__KV("codename", v[EXP_CODENAME]);
	EXP__KV("date", v[EXP_DATE]);
	EXP__KV("link", v[EXP_LINK]);
	EXP__KV("md5", v[EXP_MD5]); /* null when unknown, as XFU writes it */
	EXP__KV("method", bufs[1]);
	EXP__KV("name", v[EXP_NAME]);
	EXP__KV("size", v[EXP_SIZE] ? bufs[2] : NULL);
	EXP__KV("version", v[EXP_VERSION]);
	e->mirrors = NULL;
	if (all) {
		EXP__KV("changelog", v[EXP_CHANGELOG]);
		EXP__KV("filename", v[EXP_FILENAME]);
		EXP__KV("incremental", v[EXP_INCREMENTAL]);
		/* a variant romtrack made up stays undeclared when the dump is imported */
		if (strcmp(v[EXP_DECLARED], "f") == 0)
			EXP__KV("declared", "false");
		e->mirrors = json_loads(v[EXP_MIRRORS] ? v[EXP_MIRRORS] : "[]", 0, NULL);
	}
#undef EXP__KV
}

static bool
exp__emit(yaml_emitter_t *em, yaml_event_t *ev, char *err, size_t errlen)
{
	if (yaml_emitter_emit(em, ev))
		return true;
	snprintf(err, errlen, "writing YAML: %s", em->problem ? em->problem : "error");
	return false;
}

static bool
exp__yaml_scalar(yaml_emitter_t *em, const char *value, bool quote, char *err, size_t errlen)
{
	yaml_event_t ev;

	if (value == NULL)
		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)"null", 4, 1, 1, YAML_PLAIN_SCALAR_STYLE);
	else
		/* libyaml copies the value; its prototype merely lacks the const */
		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)value, (int)strlen(value), 1, 1,
					     quote ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
	return exp__emit(em, &ev, err, errlen);
}

static int
exp__write_file(void *data, unsigned char *buffer, size_t size)
{
	return fwrite(buffer, 1, size, data) == size;
}

static bool
exp__yaml_entry(yaml_emitter_t *em, const struct exp__entry *e, char *err, size_t errlen)
{
	yaml_event_t ev;

	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	if (!exp__emit(em, &ev, err, errlen))
		return false;
	for (size_t i = 0; i < e->n; i++) {
		/* quoted like XFU does, so that YAML readers keep "4.10" a string */
		bool quote = strcmp(e->keys[i], "android") == 0;

		if (!exp__yaml_scalar(em, e->keys[i], false, err, errlen) ||
		    !exp__yaml_scalar(em, e->values[i], quote, err, errlen))
			return false;
	}
	if (e->mirrors != NULL && json_array_size(e->mirrors) > 0) {
		if (!exp__yaml_scalar(em, "mirrors", false, err, errlen))
			return false;
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (!exp__emit(em, &ev, err, errlen))
			return false;
		for (size_t i = 0; i < json_array_size(e->mirrors); i++)
			if (!exp__yaml_scalar(em, json_string_value(json_array_get(e->mirrors, i)), false, err, errlen))
				return false;
		yaml_sequence_end_event_initialize(&ev);
		if (!exp__emit(em, &ev, err, errlen))
			return false;
	}
	yaml_mapping_end_event_initialize(&ev);
	return exp__emit(em, &ev, err, errlen);
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

bool
exp_run(PGconn *conn, enum exp_format format, bool all, FILE *out, char *err, size_t errlen)
{
	const char *params[1] = {all ? "true" : "false"};
	yaml_emitter_t em;
	yaml_event_t ev;
	PGresult *res;
	bool ok = true, first = true;
	size_t rows = 0;

	if (!PQsendQueryParams(conn, exp__sql, 1, NULL, params, NULL, NULL, 0) || !PQsetSingleRowMode(conn)) {
		snprintf(err, errlen, "database: %s", PQerrorMessage(conn));
		return false;
	}
	if (format == EXP_YAML) {
		yaml_emitter_initialize(&em);
		yaml_emitter_set_output(&em, exp__write_file, out);
		yaml_emitter_set_unicode(&em, 1);
		yaml_emitter_set_width(&em, -1);
		yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
		ok = exp__emit(&em, &ev, err, errlen);
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
		ok = ok && exp__emit(&em, &ev, err, errlen);
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		ok = ok && exp__emit(&em, &ev, err, errlen);
	} else {
		fputs("[", out);
	}
	/* Rows arrive one by one: memory stays flat whatever the size of the database. */
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) == PGRES_SINGLE_TUPLE && ok) {
			struct exp__entry e;
			char bufs[4][64];

			exp__entry(res, all, &e, bufs);
			if (format == EXP_YAML) {
				ok = exp__yaml_entry(&em, &e, err, errlen);
			} else {
				json_t *obj = exp__json_entry(&e);

				fputs(first ? "\n  " : ",\n  ", out);
				ok = json_dumpf(obj, out, JSON_COMPACT) == 0;
				json_decref(obj);
			}
			json_decref(e.mirrors);
			first = false;
			rows++;
		} else if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_SINGLE_TUPLE && ok) {
			snprintf(err, errlen, "database: %s", PQresultErrorMessage(res));
			ok = false;
		}
		PQclear(res);
	}
	if (format == EXP_YAML) {
		yaml_sequence_end_event_initialize(&ev);
		ok = ok && exp__emit(&em, &ev, err, errlen);
		yaml_document_end_event_initialize(&ev, 1);
		ok = ok && exp__emit(&em, &ev, err, errlen);
		yaml_stream_end_event_initialize(&ev);
		ok = ok && exp__emit(&em, &ev, err, errlen);
		yaml_emitter_delete(&em);
	} else {
		fputs(rows ? "\n]\n" : "]\n", out);
	}
	if (ok && (fflush(out) != 0 || ferror(out))) {
		snprintf(err, errlen, "writing the output failed");
		ok = false;
	}
	return ok;
}
