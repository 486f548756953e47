/* Reader for XFU's YAML exports, streamed event by event: memory holds one entry, whatever
 * the size of the file, and no nesting deeper than an entry's is read. */
#include "imp_readers.h"
#include "yaml_doc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* The values of one entry, copied out of their events. */
struct xfu__strings {
	char *values[64];
	size_t n;
};

static const char *
xfu__keep(struct xfu__strings *kept, const yaml_event_t *ev)
{
	char *copy;

	if (kept->n == sizeof kept->values / sizeof kept->values[0])
		return NULL;
	if ((copy = strdup((const char *)ev->data.scalar.value)) == NULL)
		abort();
	kept->values[kept->n++] = copy;
	return copy;
}

static void
xfu__release(struct xfu__strings *kept)
{
	for (size_t i = 0; i < kept->n; i++)
		free(kept->values[i]);
	kept->n = 0;
}

/* A plain null, ~ or empty value: the field is absent. */
static bool
xfu__is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	return ev->type == YAML_SCALAR_EVENT && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
		strcmp(v, "NULL") == 0);
}

static unsigned long
xfu__line(const yaml_event_t *ev)
{
	return (unsigned long)ev->start_mark.line + 1;
}

/* Fields of a latest.yml entry and where they go in a card ("link" is the first link). */
static const struct {
	const char *name;
	size_t offset;
} xfu__fields[] = {
	{"android", offsetof(struct imp_card, android)},
	{"branch", offsetof(struct imp_card, branch)},
	{"changelog", offsetof(struct imp_card, changelog)},
	{"codename", offsetof(struct imp_card, codename)},
	{"date", offsetof(struct imp_card, date)},
	{"declared", 0}, /* romtrack's own dumps: "false" for a variant romtrack made up */
	{"filename", offsetof(struct imp_card, filename)},
	{"incremental", offsetof(struct imp_card, incremental_url)},
	{"link", offsetof(struct imp_card, links)},
	{"md5", offsetof(struct imp_card, md5)},
	{"method", offsetof(struct imp_card, type)},
	{"mirrors", 0}, /* a list, handled apart */
	{"name", offsetof(struct imp_card, name)},
	{"size", offsetof(struct imp_card, size)},
	{"version", offsetof(struct imp_card, version)},
};

/* One latest.yml entry, its mapping start already read:
 * {android, branch, codename, date, link, md5, method, name, size, version}. */
static bool
xfu__read_entry(struct yaml_doc_reader *r, const yaml_event_t *start, struct imp_sink *sink, char *err, size_t errlen)
{
	struct imp_card card = {.file = r->path, .line = xfu__line(start)};
	const char *mirrors[IMP_MAX_LINKS];
	struct xfu__strings kept = {.n = 0};
	size_t extra = 0, nfields = sizeof xfu__fields / sizeof xfu__fields[0];
	yaml_event_t kev, vev;
	bool ok = false;

	for (;;) {
		size_t k;
		const char *key;

		if (!yaml_doc_next(r, &kev, err, errlen))
			goto out;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		key = kev.type == YAML_SCALAR_EVENT ? (const char *)kev.data.scalar.value : NULL;
		for (k = 0; key != NULL && k < nfields; k++)
			if (strcmp(key, xfu__fields[k].name) == 0)
				break;
		if (key == NULL || k == nfields) {
			snprintf(err, errlen, "%s:%lu: unknown field \"%.64s\" in a ROM entry", r->path,
				 xfu__line(&kev), key ? key : "?");
			yaml_event_delete(&kev);
			goto out;
		}
		yaml_event_delete(&kev);
		if (!yaml_doc_next(r, &vev, err, errlen))
			goto out;
		if (strcmp(xfu__fields[k].name, "mirrors") == 0) {
			/* romtrack's own dumps: the links after the first */
			bool list_ok = vev.type == YAML_SEQUENCE_START_EVENT;
			unsigned long line = xfu__line(&vev);

			yaml_event_delete(&vev);
			while (list_ok) {
				const char *url;

				if (!yaml_doc_next(r, &vev, err, errlen))
					goto out;
				if (vev.type == YAML_SEQUENCE_END_EVENT) {
					yaml_event_delete(&vev);
					break;
				}
				list_ok = vev.type == YAML_SCALAR_EVENT;
				if (list_ok && extra < IMP_MAX_LINKS - 1) {
					if ((url = xfu__keep(&kept, &vev)) == NULL)
						list_ok = false;
					else
						mirrors[extra++] = url;
				} else if (list_ok) {
					/* more links than a release keeps: a dump never writes them */
					snprintf(err, errlen, "%s:%lu: more than %d mirrors in a ROM entry", r->path,
						 xfu__line(&vev), IMP_MAX_LINKS - 1);
					yaml_event_delete(&vev);
					goto out;
				}
				yaml_event_delete(&vev);
			}
			if (!list_ok) {
				snprintf(err, errlen, "%s:%lu: field \"mirrors\" must be a list of links", r->path,
					 line);
				goto out;
			}
			continue;
		}
		if (vev.type != YAML_SCALAR_EVENT) {
			snprintf(err, errlen, "%s:%lu: field \"%s\" must be a single value", r->path, xfu__line(&vev),
				 xfu__fields[k].name);
			yaml_event_delete(&vev);
			goto out;
		}
		if (strcmp(xfu__fields[k].name, "declared") == 0 && !xfu__is_null(&vev)) {
			const char *value = (const char *)vev.data.scalar.value;

			if (strcmp(value, "false") != 0 && strcmp(value, "true") != 0) {
				snprintf(err, errlen, "%s:%lu: field \"declared\" must be true or false", r->path,
					 xfu__line(&vev));
				yaml_event_delete(&vev);
				goto out;
			}
			card.codename_made_up = strcmp(value, "false") == 0;
		} else if (!xfu__is_null(&vev)) {
			const char *value = xfu__keep(&kept, &vev);

			if (value == NULL) {
				snprintf(err, errlen, "%s:%lu: a ROM entry has too many fields", r->path,
					 xfu__line(&vev));
				yaml_event_delete(&vev);
				goto out;
			}
			*(const char **)((char *)&card + xfu__fields[k].offset) = value;
		}
		yaml_event_delete(&vev);
	}
	card.nlinks = card.links[0] != NULL;
	for (size_t m = 0; card.nlinks > 0 && m < extra; m++)
		card.links[card.nlinks++] = mirrors[m];
	ok = sink->card(sink, &card, err, errlen);
out:
	xfu__release(&kept);
	return ok;
}

/* latest.yml: a list of ROM entries, its sequence start already read. */
static bool
xfu__read_latest(struct yaml_doc_reader *r, struct imp_sink *sink, char *err, size_t errlen)
{
	yaml_event_t ev;

	for (;;) {
		bool ok;

		if (!yaml_doc_next(r, &ev, err, errlen))
			return false;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return true;
		}
		if (ev.type != YAML_MAPPING_START_EVENT) {
			snprintf(err, errlen, "%s:%lu: expected a ROM entry (a mapping of fields)", r->path,
				 xfu__line(&ev));
			yaml_event_delete(&ev);
			return false;
		}
		ok = xfu__read_entry(r, &ev, sink, err, errlen);
		yaml_event_delete(&ev);
		if (!ok)
			return false;
	}
}

/* devices.yml: codename: [display name, MIUI name], its mapping start already read. */
static bool
xfu__read_devices(struct yaml_doc_reader *r, struct imp_sink *sink, char *err, size_t errlen)
{
	for (;;) {
		struct xfu__strings kept = {.n = 0};
		const char *items[2] = {NULL, NULL};
		struct imp_variant v = {.file = r->path};
		size_t nitems = 0;
		yaml_event_t ev;
		bool ok = false;

		if (!yaml_doc_next(r, &ev, err, errlen))
			return false;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return true;
		}
		v.line = xfu__line(&ev);
		v.codename = ev.type == YAML_SCALAR_EVENT ? xfu__keep(&kept, &ev) : NULL;
		yaml_event_delete(&ev);
		if (v.codename == NULL || !yaml_doc_next(r, &ev, err, errlen) || ev.type != YAML_SEQUENCE_START_EVENT) {
			if (v.codename == NULL || ev.type != YAML_NO_EVENT)
				snprintf(err, errlen, "%s:%lu: expected \"codename: [display name, MIUI name]\"",
					 r->path, v.line);
			if (v.codename != NULL)
				yaml_event_delete(&ev);
			goto next;
		}
		yaml_event_delete(&ev);
		for (;;) {
			if (!yaml_doc_next(r, &ev, err, errlen))
				goto next;
			if (ev.type == YAML_SEQUENCE_END_EVENT)
				break;
			if (ev.type != YAML_SCALAR_EVENT || nitems == 2) {
				snprintf(err, errlen,
					 nitems == 2 ? "%s:%lu: %s must list a display name and a MIUI name"
						     : "%s:%lu: the names of %s must be single values",
					 r->path, xfu__line(&ev), v.codename);
				yaml_event_delete(&ev);
				goto next;
			}
			items[nitems++] = xfu__keep(&kept, &ev);
			yaml_event_delete(&ev);
		}
		yaml_event_delete(&ev);
		if (nitems == 0) {
			snprintf(err, errlen, "%s:%lu: %s must list a display name and a MIUI name", r->path, v.line,
				 v.codename);
			goto next;
		}
		v.name = items[0];
		v.miui_name = items[1];
		ok = sink->variant(sink, &v, err, errlen);
next:
		xfu__release(&kept);
		if (!ok)
			return false;
	}
}

/* The reader proper, over an open reader (a file or bytes); closes it. */
static bool
xfu__read(struct yaml_doc_reader *r, struct imp_sink *sink, char *err, size_t errlen)
{
	const char *path = r->path;
	yaml_event_t ev;
	bool ok = false;

	/* the stream and the first document start, then the root (an empty file has none) */
	for (int i = 0; i < 3; i++) {
		if (!yaml_doc_next(r, &ev, err, errlen))
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT)
			break;
		if (i < 2)
			yaml_event_delete(&ev);
	}
	if (ev.type == YAML_SEQUENCE_START_EVENT)
		ok = xfu__read_latest(r, sink, err, errlen);
	else if (ev.type == YAML_MAPPING_START_EVENT)
		ok = xfu__read_devices(r, sink, err, errlen);
	else
		snprintf(err, errlen, "%s:1: not an XFU export: expected a list of ROMs or a mapping of codenames",
			 path);
	yaml_event_delete(&ev);
	/* the rest of the first document must be valid YAML too */
	while (ok) {
		if (!(ok = yaml_doc_next(r, &ev, err, errlen)))
			break;
		if (ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
out:
	yaml_doc_close(r);
	return ok;
}

bool
imp_read_xfu_yaml_buffer(const char *name, const char *data, size_t len, struct imp_sink *sink, char *err,
			 size_t errlen)
{
	struct yaml_doc_reader r;

	if (len > (size_t)YAML_DOC_MAX_BYTES) {
		snprintf(err, errlen, "%s: %zu bytes, larger than the limit of %ld bytes for a YAML file", name, len,
			 YAML_DOC_MAX_BYTES);
		return false;
	}
	if (!yaml_doc_open_string(&r, name, data, len, 0, err, errlen))
		return false;
	return xfu__read(&r, sink, err, errlen);
}

bool
imp_read_xfu_yaml(const char *path, struct imp_sink *sink, char *err, size_t errlen)
{
	struct yaml_doc_reader r;

	/* streamed from the file, not read whole: memory holds one entry */
	if (!yaml_doc_open_file(&r, path, YAML_DOC_MAX_BYTES, err, errlen))
		return false;
	return xfu__read(&r, sink, err, errlen);
}
