/* Reader for XFU download pages: libyaml for the front matter, libxml2's HTML parser for the cards. */
#include "imp_readers.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "utf8.h"
#include "yaml_doc.h"

#define PAGE__MAX_BYTES ((size_t)64 * 1024 * 1024)

/* The labels a card carries ("<b>Version: </b>..."), and the card field each fills. */
enum page__label {
	PAGE_DEVICE,
	PAGE_CODENAME,
	PAGE_VERSION,
	PAGE_BRANCH,
	PAGE_TYPE,
	PAGE_SIZE,
	PAGE_DATE,
	PAGE_PACKAGE,
	PAGE_MD5,
	PAGE_DOWNLOAD,
	PAGE_CHANGELOG,
	PAGE__MAX
};

static const struct {
	const char *label;
	bool required;
} page__labels[PAGE__MAX] = {
	[PAGE_DEVICE] = {"Device", true},
	[PAGE_CODENAME] = {"Codename", true},
	[PAGE_VERSION] = {"Version", true},
	[PAGE_BRANCH] = {"Branch", true},
	[PAGE_TYPE] = {"Type", true},
	[PAGE_SIZE] = {"Size", false},
	[PAGE_DATE] = {"Release Date", false},
	[PAGE_PACKAGE] = {"Package Name", true},
	[PAGE_MD5] = {"MD5", false},
	[PAGE_DOWNLOAD] = {"Download", true},
	[PAGE_CHANGELOG] = {"Changelog", false},
};

/* Strings of one page live until the page is done: a list of xmlChar buffers. */
struct page__strings {
	struct buf items; /* xmlChar * each */
};

static char *
page__keep(struct page__strings *ss, xmlChar *s)
{
	if (s == NULL)
		return NULL;
	BUF_PUSH(&ss->items, s);
	return (char *)s;
}

static void
page__strings_free(struct page__strings *ss)
{
	for (size_t i = 0; i < BUF_COUNT(&ss->items, xmlChar *); i++)
		xmlFree(BUF_ITEMS(&ss->items, xmlChar *)[i]);
	buf_free(&ss->items);
}

/* Trims white space in place (xmlChar buffers are ours). */
static char *
page__trim(char *s)
{
	char *end;

	if (s == NULL)
		return NULL;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static bool
page__is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && xmlStrcasecmp(n->name, (const xmlChar *)name) == 0;
}

/* Whether the class attribute lists every one of the space-separated tokens. */
static bool
page__has_classes(xmlNode *n, const char *const *tokens, size_t ntokens)
{
	xmlChar *cls = xmlGetProp(n, BAD_CAST "class");
	bool all = cls != NULL;

	for (size_t i = 0; all && i < ntokens; i++) {
		const char *c = (const char *)cls, *t = tokens[i];
		size_t tl = strlen(t);
		bool found = false;

		while (!found && (c = strstr(c, t)) != NULL) {
			found = (c == (const char *)cls || c[-1] == ' ') && (c[tl] == '\0' || c[tl] == ' ');
			c += tl;
		}
		all = found;
	}
	xmlFree(cls);
	return all;
}

static xmlNode *
page__find(xmlNode *n, const char *name)
{
	for (; n != NULL; n = n->next) {
		xmlNode *found;

		if (page__is(n, name))
			return n;
		if ((found = page__find(n->children, name)) != NULL)
			return found;
	}
	return NULL;
}

/* The changelog paragraph: text with <br> as new lines; entities are decoded by libxml2. */
static void
page__changelog(xmlNode *p, xmlBuffer *out)
{
	for (xmlNode *c = p->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE) {
			xmlBufferCat(out, c->content);
		} else if (page__is(c, "br")) {
			xmlBufferCat(out, BAD_CAST "\n");
		} else if (c->type == XML_ELEMENT_NODE) {
			page__changelog(c, out);
		}
	}
}

/* The URL of a button's onclick="window.open('URL', '_blank');". */
static xmlChar *
page__button_url(xmlNode *button)
{
	xmlChar *onclick = xmlGetProp(button, BAD_CAST "onclick"), *url = NULL;
	const char *start;

	if (onclick != NULL && (start = strstr((const char *)onclick, "window.open('")) != NULL) {
		start += strlen("window.open('");
		const char *end = strchr(start, '\'');
		if (end != NULL)
			url = xmlStrndup((const xmlChar *)start, (int)(end - start));
	}
	xmlFree(onclick);
	return url;
}

/* Collects the download buttons; *extra counts those beyond IMP_MAX_LINKS. */
static void
page__downloads(xmlNode *n, struct imp_card *card, struct page__strings *ss, size_t *extra)
{
	for (; n != NULL; n = n->next) {
		if (page__is(n, "button")) {
			char *text = (char *)xmlNodeGetContent(n);
			const char *label = page__trim(text);
			xmlChar *url = page__button_url(n);

			if (url != NULL && strstr(label, "Incremental") != NULL)
				card->incremental_url = page__keep(ss, url);
			else if (url != NULL && card->nlinks < IMP_MAX_LINKS)
				card->links[card->nlinks++] = page__keep(ss, url);
			else if (url != NULL) {
				(*extra)++;
				xmlFree(url);
			}
			xmlFree(text);
		} else {
			page__downloads(n->children, card, ss, extra);
		}
	}
}

/* Reads the labelled <li> items of one card. */
static bool
page__card(const char *path, xmlNode *div, long line_offset, struct imp_card *card, struct page__strings *ss, char *err,
	   size_t errlen)
{
	bool seen[PAGE__MAX] = {false};

	card->line = (unsigned long)(xmlGetLineNo(div) + line_offset);
	for (xmlNode *li = page__find(div->children, "li"); li != NULL; li = li->next) {
		xmlNode *b;
		char *label, *colon, *text, *value;
		int id;

		if (!page__is(li, "li") || (b = page__find(li->children, "b")) == NULL)
			continue;
		label = page__trim(page__keep(ss, xmlNodeGetContent(b)));
		colon = strrchr(label, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		for (id = 0; id < PAGE__MAX; id++)
			if (strcmp(label, page__labels[id].label) == 0)
				break;
		if (id == PAGE__MAX)
			continue; /* a label this reader does not use */
		if (seen[id]) {
			snprintf(err, errlen, "%s:%ld: a card has two \"%s\" fields", path,
				 xmlGetLineNo(li) + line_offset, page__labels[id].label);
			return false;
		}
		seen[id] = true;
		if (id == PAGE_DOWNLOAD) {
			size_t extra = 0;

			page__downloads(li->children, card, ss, &extra);
			if (extra > 0) {
				/* never dropped without a word (no card of the archive has more than 7 buttons) */
				snprintf(err, errlen, "%s:%ld: the card has %zu download links, more than the %d kept",
					 path, xmlGetLineNo(li) + line_offset, card->nlinks + extra, IMP_MAX_LINKS);
				return false;
			}
			continue;
		}
		if (id == PAGE_CHANGELOG) {
			xmlNode *p = page__find(li->children, "p");
			xmlBuffer *buf;

			if (p == NULL)
				continue;
			buf = xmlBufferCreate();
			page__changelog(p, buf);
			card->changelog = page__trim(page__keep(ss, xmlStrdup(xmlBufferContent(buf))));
			xmlBufferFree(buf);
			continue;
		}
		/* The value is what the item says after its label. */
		text = page__keep(ss, xmlNodeGetContent(li));
		value = strstr(text, label);
		if (value == NULL) {
			value = text;
		} else {
			value += strlen(label);
			value += *value == ':';
		}
		value = page__trim(value);
		switch (id) {
		case PAGE_DEVICE: card->name = value; break;
		case PAGE_CODENAME: card->codename = value; break;
		case PAGE_VERSION: card->version = value; break;
		case PAGE_BRANCH: card->branch = value; break;
		case PAGE_TYPE: card->type = value; break;
		case PAGE_SIZE: card->size = value; break;
		case PAGE_DATE: card->date = value; break;
		case PAGE_PACKAGE: card->filename = value; break;
		case PAGE_MD5: card->md5 = value; break;
		}
	}
	for (int id = 0; id < PAGE__MAX; id++) {
		if (page__labels[id].required && !seen[id]) {
			snprintf(err, errlen, "%s:%lu: the card has no \"%s\" field", path, card->line,
				 page__labels[id].label);
			return false;
		}
	}
	return true;
}

/* Every <div class="card card-body"> in document order. */
static bool
page__cards(const char *path, xmlNode *n, long line_offset, struct imp_sink *sink, size_t *count,
	    struct page__strings *ss, char *err, size_t errlen)
{
	static const char *const classes[] = {"card", "card-body"};

	for (; n != NULL; n = n->next) {
		if (page__is(n, "div") && page__has_classes(n, classes, 2)) {
			struct imp_card card = {.file = path, .codename_is_base = true};

			if (!page__card(path, n, line_offset, &card, ss, err, errlen) ||
			    !sink->card(sink, &card, err, errlen))
				return false;
			(*count)++;
			continue; /* cards do not nest */
		}
		if (!page__cards(path, n->children, line_offset, sink, count, ss, err, errlen))
			return false;
	}
	return true;
}

/* Checks the front matter is a YAML mapping, event by event (no document is built: its
 * size and depth cost time and memory in proportion, never more). */
static bool
page__front_matter(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	struct yaml_doc_reader r;
	yaml_event_t ev;
	bool ok = true, done = false;
	int events = 0;

	/* +1: the opening "---" line */
	if (!yaml_doc_open_string(&r, path, text, len, 1, err, errlen))
		return false;
	r.what = "front matter: ";
	while (!done && (ok = yaml_doc_next(&r, &ev, err, errlen))) {
		/* the stream, the document, then its root */
		if (++events == 3 && ev.type != YAML_MAPPING_START_EVENT) {
			snprintf(err, errlen, "%s:2: front matter: expected a mapping of keys to values", path);
			ok = false;
		}
		if (ev.type == YAML_STREAM_END_EVENT && events < 3) {
			snprintf(err, errlen, "%s:2: front matter: expected a mapping of keys to values", path);
			ok = false;
		}
		done = !ok || ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_doc_close(&r);
	return ok;
}

/* Line and column (1-based, in characters) of byte offset off. */
static void
page__position(const char *text, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n')
			(*line)++, *col = 1;
		else if (((unsigned char)text[i] & 0xc0) != 0x80)
			(*col)++;
	}
}

/* The reader proper, over text[len] with text[len] == '\0'. */
static bool
page__read(const char *path, const char *text, size_t len, struct imp_sink *sink, char *err, size_t errlen)
{
	struct page__strings ss = {{0}};
	size_t bad, cards = 0;
	const char *body, *end, *nul;
	long line_offset = 1;
	htmlDocPtr doc = NULL;
	bool ok = false;

	if (len > PAGE__MAX_BYTES) {
		snprintf(err, errlen, "%s: %zu bytes, larger than the limit of %zu bytes for a page", path, len,
			 PAGE__MAX_BYTES);
		return false;
	}
	if ((nul = memchr(text, '\0', len)) != NULL) {
		size_t line, col;

		/* the string functions below would stop there: never read half a page */
		page__position(text, (size_t)(nul - text), &line, &col);
		snprintf(err, errlen, "%s:%zu:%zu: a NUL byte: a page is text", path, line, col);
		return false;
	}
	if (!utf8_valid(text, len, &bad)) {
		size_t line, col;

		page__position(text, bad, &line, &col);
		snprintf(err, errlen, "%s:%zu:%zu: invalid UTF-8 (byte 0x%02x): the file must be UTF-8", path, line,
			 col, (unsigned char)text[bad]);
		goto out;
	}
	if (strncmp(text, "---\n", 4) != 0 || (end = strstr(text + 3, "\n---")) == NULL) {
		snprintf(err, errlen, "%s:1: expected YAML front matter between two \"---\" lines", path);
		goto out;
	}
	if (!page__front_matter(path, text + 4, (size_t)(end + 1 - (text + 4)), err, errlen))
		goto out;
	body = end + 4;
	for (const char *p = text; p < body; p++)
		line_offset += *p == '\n';
	line_offset -= 1; /* libxml2 counts the body's first line as 1 */
	doc = htmlReadMemory(body, (int)(len - (size_t)(body - text)), path, "UTF-8",
			     HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
	if (doc == NULL) {
		snprintf(err, errlen, "%s: the page has no HTML after its front matter", path);
		goto out;
	}
	if (!page__cards(path, xmlDocGetRootElement(doc), line_offset, sink, &cards, &ss, err, errlen))
		goto out;
	if (cards == 0) {
		snprintf(err, errlen, "%s: no download card (<div class=\"card card-body\">) on the page", path);
		goto out;
	}
	ok = true;
out:
	if (doc != NULL)
		xmlFreeDoc(doc);
	page__strings_free(&ss);
	return ok;
}

bool
imp_read_page_buffer(const char *name, const char *data, size_t len, struct imp_sink *sink, char *err, size_t errlen)
{
	struct buf copy = {0};
	bool ok;

	if (len > PAGE__MAX_BYTES)
		return page__read(name, "", len, sink, err, errlen); /* refused by its size, unread */
	buf_put(&copy, data, len);                                   /* a body need not end with a NUL: the copy does */
	ok = page__read(name, copy.data != NULL ? copy.data : "", len, sink, err, errlen);
	buf_free(&copy);
	return ok;
}

bool
imp_read_page(const char *path, struct imp_sink *sink, char *err, size_t errlen)
{
	struct buf file = {0};
	bool ok;

	if (!buf_read_file(&file, path, PAGE__MAX_BYTES, err, errlen))
		return false;
	ok = page__read(path, file.data, file.len, sink, err, errlen);
	buf_free(&file);
	return ok;
}
