/* Reader for XFU's YAML exports, through libyaml's document API (for line numbers). */
#include "imp_readers.h"
#include "yaml_doc.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* A plain null, ~ or empty value: the field is absent. */
static bool
xfu__is_null(const yaml_node_t *node)
{
	const char *v = (const char *)node->data.scalar.value;

	return node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
		strcmp(v, "NULL") == 0);
}

static const char *
xfu__scalar(yaml_node_t *node)
{
	return node != NULL && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
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

/* latest.yml: a list of {android, branch, codename, date, link, md5, method, name, size, version} */
static bool
xfu__read_latest(const char *path, yaml_document_t *doc, yaml_node_t *root, struct imp_sink *sink,
		 char *err, size_t errlen)
{
	for (yaml_node_item_t *it = root->data.sequence.items.start; it < root->data.sequence.items.top; it++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *it);
		struct imp_card card = {.file = path, .line = entry->start_mark.line + 1};
		const char *mirrors[IMP_MAX_LINKS];
		size_t extra = 0;

		if (entry->type != YAML_MAPPING_NODE) {
			snprintf(err, errlen, "%s:%lu: expected a ROM entry (a mapping of fields)", path, card.line);
			return false;
		}
		for (yaml_node_pair_t *p = entry->data.mapping.pairs.start; p < entry->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = yaml_document_get_node(doc, p->key);
			yaml_node_t *vn = yaml_document_get_node(doc, p->value);
			const char *key = xfu__scalar(kn), *value = xfu__scalar(vn);
			size_t k, nfields = sizeof xfu__fields / sizeof xfu__fields[0];

			for (k = 0; key != NULL && k < nfields; k++)
				if (strcmp(key, xfu__fields[k].name) == 0)
					break;
			if (key == NULL || k == nfields) {
				snprintf(err, errlen, "%s:%zu: unknown field \"%s\" in a ROM entry", path,
					 kn->start_mark.line + 1, key ? key : "?");
				return false;
			}
			if (strcmp(key, "mirrors") == 0) {
				/* romtrack's own dumps: the links after the first */
				if (vn->type != YAML_SEQUENCE_NODE) {
					snprintf(err, errlen, "%s:%zu: field \"mirrors\" must be a list of links", path,
						 vn->start_mark.line + 1);
					return false;
				}
				for (yaml_node_item_t *m = vn->data.sequence.items.start;
				     m < vn->data.sequence.items.top && card.nlinks + extra < IMP_MAX_LINKS - 1; m++)
					mirrors[extra++] = xfu__scalar(yaml_document_get_node(doc, *m));
				continue;
			}
			if (xfu__is_null(vn))
				continue;
			if (strcmp(key, "declared") == 0) {
				if (value == NULL || (strcmp(value, "false") != 0 && strcmp(value, "true") != 0)) {
					snprintf(err, errlen, "%s:%zu: field \"declared\" must be true or false", path,
						 vn->start_mark.line + 1);
					return false;
				}
				card.codename_made_up = strcmp(value, "false") == 0;
				continue;
			}
			if (value == NULL) {
				snprintf(err, errlen, "%s:%zu: field \"%s\" must be a single value", path,
					 vn->start_mark.line + 1, key);
				return false;
			}
			*(const char **)((char *)&card + xfu__fields[k].offset) = value;
		}
		card.nlinks = card.links[0] != NULL;
		for (size_t m = 0; card.nlinks > 0 && m < extra; m++)
			if (mirrors[m] != NULL)
				card.links[card.nlinks++] = mirrors[m];
		if (!sink->card(sink, &card, err, errlen))
			return false;
	}
	return true;
}

/* devices.yml: codename: [display name, MIUI name] */
static bool
xfu__read_devices(const char *path, yaml_document_t *doc, yaml_node_t *root, struct imp_sink *sink,
		  char *err, size_t errlen)
{
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(doc, p->value);
		struct imp_variant v = {.file = path, .line = kn->start_mark.line + 1};
		yaml_node_item_t *items;

		v.codename = xfu__scalar(kn);
		if (v.codename == NULL || vn->type != YAML_SEQUENCE_NODE) {
			snprintf(err, errlen, "%s:%lu: expected \"codename: [display name, MIUI name]\"", path, v.line);
			return false;
		}
		items = vn->data.sequence.items.start;
		if (vn->data.sequence.items.top - items < 1 || vn->data.sequence.items.top - items > 2) {
			snprintf(err, errlen, "%s:%lu: %s must list a display name and a MIUI name", path,
				 v.line, v.codename);
			return false;
		}
		v.name = xfu__scalar(yaml_document_get_node(doc, items[0]));
		if (vn->data.sequence.items.top - items == 2)
			v.miui_name = xfu__scalar(yaml_document_get_node(doc, items[1]));
		if (v.name == NULL) {
			snprintf(err, errlen, "%s:%lu: the display name of %s must be a single value", path,
				 v.line, v.codename);
			return false;
		}
		if (!sink->variant(sink, &v, err, errlen))
			return false;
	}
	return true;
}

bool
imp_read_xfu_yaml(const char *path, struct imp_sink *sink, char *err, size_t errlen)
{
	yaml_document_t doc;
	yaml_node_t *root;
	bool ok = false;

	if (!yaml_doc_load(path, &doc, err, errlen))
		return false;
	root = yaml_document_get_root_node(&doc);
	if (root != NULL && root->type == YAML_SEQUENCE_NODE)
		ok = xfu__read_latest(path, &doc, root, sink, err, errlen);
	else if (root != NULL && root->type == YAML_MAPPING_NODE)
		ok = xfu__read_devices(path, &doc, root, sink, err, errlen);
	else
		snprintf(err, errlen, "%s:1: not an XFU export: expected a list of ROMs or a mapping of codenames", path);
	yaml_document_delete(&doc);
	return ok;
}
