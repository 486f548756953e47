/* Reader for releases in the API's JSON shape: checks the whole document, every error with its JSON pointer. */
#include "imp_readers.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "domain.h"
#include "imp_normalize.h"
#include "params.h"

/* More display names than any phone has (XFU lists at most a handful): each is a card. */
#define JSON__MAX_NAMES 64

enum json__kind {
	JSON__STRING,      /* a string */
	JSON__STRING_NULL, /* a string, or null when unknown */
	JSON__SIZE,        /* an integer of bytes, or null */
	JSON__NAMES,       /* 1 to JSON__MAX_NAMES strings */
	JSON__LINKS,       /* 1 to IMP_MAX_LINKS URLs of the package */
	JSON__INCREMENTAL, /* null or {"url", "filename", "from", "to"} */
};

/* The members of a release; field is the enum imp_field a member gives, -1 for none. */
static const struct {
	const char *name;
	enum json__kind kind;
	bool required;
	int field;
	size_t offset; /* the card's string, for the string kinds */
} json__members[] = {
	{"codename", JSON__STRING, false, -1, 0},
	{"variant", JSON__STRING, false, IMP_FIELD_VARIANT, 0},
	{"names", JSON__NAMES, true, IMP_FIELD_NAMES, 0},
	{"version", JSON__STRING, true, -1, offsetof(struct imp_card, version)},
	{"branch", JSON__STRING, true, IMP_FIELD_BRANCH, offsetof(struct imp_card, branch)},
	{"type", JSON__STRING, true, -1, offsetof(struct imp_card, type)},
	{"android", JSON__STRING_NULL, false, IMP_FIELD_ANDROID, offsetof(struct imp_card, android)},
	{"size", JSON__SIZE, false, IMP_FIELD_SIZE, 0},
	{"md5", JSON__STRING_NULL, false, IMP_FIELD_MD5, offsetof(struct imp_card, md5)},
	{"filename", JSON__STRING, false, -1, offsetof(struct imp_card, filename)},
	{"date", JSON__STRING_NULL, false, IMP_FIELD_DATE, offsetof(struct imp_card, date)},
	{"changelog", JSON__STRING_NULL, false, IMP_FIELD_CHANGELOG, offsetof(struct imp_card, changelog)},
	{"links", JSON__LINKS, true, IMP_FIELD_LINKS, 0},
	{"incremental", JSON__INCREMENTAL, false, IMP_FIELD_INCREMENTAL, 0},
};
#define JSON__NMEMBERS (sizeof json__members / sizeof json__members[0])

/* Members reads return that romtrack derives: refused with a word of why. */
static const char *const json__derived[] = {"id", "region", "warnings"};

/* A release that passed the shape checks: its card (strings in the document) and names. */
struct json__release {
	struct imp_card card;
	char pointer[32]; /* "/data/999" or "" */
	json_t *names;
	bool variant_given; /* the codename member of a card is then "variant" */
};

struct json__ctx {
	const char *name;
	struct imp_errors *errs;
};

/* base + "/" + member with '~' and '/' escaped (RFC 6901); free() it. */
static char *
json__pointer(const char *base, const char *member)
{
	struct buf b = {0};

	buf_puts(&b, base);
	buf_put(&b, "/", 1);
	for (const char *p = member; *p; p++) {
		if (*p == '~')
			buf_puts(&b, "~0");
		else if (*p == '/')
			buf_puts(&b, "~1");
		else
			buf_put(&b, p, 1);
	}
	return b.data;
}

static void json__error(struct json__ctx *ctx, const char *base, const char *member, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* An error at base/member (member NULL: at base). */
static void
json__error(struct json__ctx *ctx, const char *base, const char *member, const char *fmt, ...)
{
	char detail[512], *pointer = member != NULL ? json__pointer(base, member) : NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	imp_errors_add(ctx->errs, IMP_FAULT_INPUT, ctx->name, pointer != NULL ? pointer : base, 0, 0, "%s", detail);
	free(pointer);
}

/* An error at base/member/index. */
static void
json__item_error(struct json__ctx *ctx, const char *base, const char *member, size_t index, const char *what)
{
	char *at = json__pointer(base, member), item[24];

	snprintf(item, sizeof item, "%zu", index);
	json__error(ctx, at, item, "%s", what);
	free(at);
}

static bool
json__md5_valid(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdefABCDEF") == 32;
}

/* incremental: null, or {"url": ..., "filename", "from", "to"} agreeing with the URL. */
static void
json__incremental(struct json__ctx *ctx, const char *ptr, json_t *v, struct imp_card *card)
{
	static const char *const keys[] = {"url", "filename", "from", "to"};
	char *at = json__pointer(ptr, "incremental"), filename[256], from[65], to[65];
	const char *key, *url;
	json_t *m;

	if (json_is_null(v))
		goto out;
	if (!json_is_object(v)) {
		json__error(ctx, at, NULL, "must be null or an object with the url of the incremental package");
		goto out;
	}
	json_object_foreach(v, key, m)
	{
		size_t k = 0;

		while (k < 4 && strcmp(key, keys[k]) != 0)
			k++;
		if (k == 4)
			json__error(ctx, at, key, "unknown member (an incremental has url, filename, from, to)");
		else if (k < 2 && !json_is_string(m))
			json__error(ctx, at, key, "must be a string");
		else if (k >= 2 && !json_is_string(m) && !json_is_null(m))
			json__error(ctx, at, key, "must be a string or null");
	}
	m = json_object_get(v, "url");
	if (m == NULL) {
		json__error(ctx, at, NULL, "the member \"url\" is missing");
		goto out;
	}
	if (!json_is_string(m))
		goto out;
	url = json_string_value(m);
	if (!imp_filename_from_link(url, filename, sizeof filename)) {
		json__error(ctx, at, "url", "must be an http(s) URL of a file");
		goto out;
	}
	card->incremental_url = url;
	if (!imp_incremental_versions(filename, from, to, sizeof from))
		from[0] = to[0] = '\0';
	/* what reads return is derived from the URL: a client's copy must say the same */
	if (json_is_string(m = json_object_get(v, "filename")) && strcmp(json_string_value(m), filename) != 0)
		json__error(ctx, at, "filename", "must be the URL's file name, %s", filename);
	if ((m = json_object_get(v, "from")) != NULL && (json_is_string(m) || json_is_null(m)) &&
	    (json_is_null(m) ? from[0] != '\0' : strcmp(json_string_value(m), from) != 0))
		json__error(ctx, at, "from", "must be what the file name says: %s", from[0] ? from : "null");
	if ((m = json_object_get(v, "to")) != NULL && (json_is_string(m) || json_is_null(m)) &&
	    (json_is_null(m) ? to[0] != '\0' : strcmp(json_string_value(m), to) != 0))
		json__error(ctx, at, "to", "must be what the file name says: %s", to[0] ? to : "null");
out:
	free(at);
}

/* names and links: arrays of strings, each checked. */
static void
json__strings(struct json__ctx *ctx, const char *ptr, const char *member, json_t *v, size_t max, struct imp_card *card)
{
	bool links = strcmp(member, "links") == 0;
	char linkname[256];
	size_t n = json_array_size(v);

	if (!json_is_array(v) || n == 0 || n > max) {
		json__error(ctx, ptr, member,
			    links ? "must be a list of 1 to %zu download URLs, the full ROM first"
				  : "must be a list of 1 to %zu display names",
			    max);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *item = json_array_get(v, i);

		if (!json_is_string(item))
			json__item_error(ctx, ptr, member, i, "must be a string");
		else if (!links && (json_string_length(item) == 0 || json_string_length(item) > 200))
			json__item_error(ctx, ptr, member, i, "a display name is 1 to 200 characters");
		else if (links && !imp_filename_from_link(json_string_value(item), linkname, sizeof linkname))
			json__item_error(ctx, ptr, member, i, "must be an http(s) URL of a file");
		else if (links)
			card->links[card->nlinks++] = json_string_value(item);
	}
}

/* Checks one release's shape and fills r; true when nothing was wrong. */
static bool
json__release(struct json__ctx *ctx, json_t *obj, struct json__release *r)
{
	const char *ptr = r->pointer, *key, *codename = NULL, *variant = NULL;
	size_t before = ctx->errs->n;
	json_t *v;

	if (!json_is_object(obj)) {
		json__error(ctx, ptr, NULL, "must be a release object");
		return false;
	}
	r->card.file = ctx->name;
	r->card.pointer = ptr;
	json_object_foreach(obj, key, v)
	{
		size_t k = 0;

		while (k < JSON__NMEMBERS && strcmp(key, json__members[k].name) != 0)
			k++;
		if (k == JSON__NMEMBERS) {
			size_t d = 0;

			while (d < sizeof json__derived / sizeof json__derived[0] && strcmp(key, json__derived[d]) != 0)
				d++;
			if (d < sizeof json__derived / sizeof json__derived[0])
				json__error(ctx, ptr, key, "romtrack derives the %s of a release: leave it out", key);
			else
				json__error(ctx, ptr, key, "unknown member");
			continue;
		}
		if (json__members[k].field >= 0)
			r->card.given |= 1u << json__members[k].field;
		switch (json__members[k].kind) {
		case JSON__STRING:
			if (!json_is_string(v)) {
				json__error(ctx, ptr, key, "must be a string");
				continue;
			}
			break;
		case JSON__STRING_NULL:
			if (!json_is_string(v) && !json_is_null(v)) {
				json__error(ctx, ptr, key, "must be a string, or null when unknown");
				continue;
			}
			break;
		case JSON__SIZE:
			if (json_is_integer(v) && json_integer_value(v) >= 0) {
				r->card.has_size_bytes = true;
				r->card.size_bytes = (long long)json_integer_value(v);
			} else if (!json_is_null(v)) {
				json__error(ctx, ptr, key,
					    "must be the size in bytes (an integer), or null when unknown");
			}
			continue;
		case JSON__NAMES:
			json__strings(ctx, ptr, key, v, JSON__MAX_NAMES, &r->card);
			r->names = v;
			continue;
		case JSON__LINKS: json__strings(ctx, ptr, key, v, IMP_MAX_LINKS, &r->card); continue;
		case JSON__INCREMENTAL: json__incremental(ctx, ptr, v, &r->card); continue;
		}
		if (json_is_null(v))
			continue;
		if (strcmp(key, "codename") == 0)
			codename = json_string_value(v);
		else if (strcmp(key, "variant") == 0)
			variant = json_string_value(v);
		else
			*(const char **)((char *)&r->card + json__members[k].offset) = json_string_value(v);
	}
	for (size_t k = 0; k < JSON__NMEMBERS; k++)
		if (json__members[k].required && json_object_get(obj, json__members[k].name) == NULL)
			json__error(ctx, ptr, NULL, "the member \"%s\" is missing", json__members[k].name);
	/* the schema's formats: text a page might get wrong is a warning, a client's value is an error */
	if (r->card.md5 != NULL && !json__md5_valid(r->card.md5))
		json__error(ctx, ptr, "md5", "must be 32 hex digits, or null when unknown");
	if (r->card.date != NULL && !params_date_valid(r->card.date))
		json__error(ctx, ptr, "date", "must be a date YYYY-MM-DD, or null when unknown");
	if (r->card.android != NULL && !imp_android_valid(r->card.android))
		json__error(ctx, ptr, "android", "must be an Android version such as \"6.0\" or \"14\", or null");
	if (r->card.branch != NULL && imp_branch_from_site(r->card.branch) == DOM_BRANCH__MAX)
		json__error(ctx, ptr, "branch", "must be stable, stable-beta, weekly or public-beta");
	if (r->card.type != NULL && imp_type_from_site(r->card.type) == DOM_TYPE__MAX)
		json__error(ctx, ptr, "type", "must be recovery or fastboot");
	if (codename != NULL && !params_codename_valid(codename))
		json__error(ctx, ptr, "codename", "must be 1 to 64 letters, digits or '_'");
	if (variant != NULL && !params_codename_valid(variant))
		json__error(ctx, ptr, "variant", "must be 1 to 64 letters, digits or '_'");
	if (codename == NULL && variant == NULL && json_object_get(obj, "codename") == NULL &&
	    json_object_get(obj, "variant") == NULL)
		json__error(ctx, ptr, NULL, "the member \"codename\" (the device) or \"variant\" is missing");
	if (codename != NULL && variant != NULL && params_codename_valid(variant)) {
		char base[128];

		dom_variant_split(variant, base);
		if (strcmp(base, codename) != 0)
			json__error(ctx, ptr, "codename", "variant %s is a variant of %s, not of %s", variant, base,
				    codename);
	}
	/* a variant names its device; a device alone is resolved by name as a page's phone is */
	r->variant_given = variant != NULL;
	r->card.codename = variant != NULL ? variant : codename;
	r->card.codename_is_base = variant == NULL;
	return ctx->errs->n == before;
}

/* The pointer of the member imp_normalize refused (see imp__reject), for the card of names[k]. */
static char *
json__normalize_pointer(const struct json__release *r, const char *field, size_t k)
{
	if (field == NULL) {
		char *copy = strdup(r->pointer);

		if (copy == NULL)
			abort();
		return copy;
	}
	if (strcmp(field, "name") == 0) {
		char *names = json__pointer(r->pointer, "names"), *p, item[24];

		snprintf(item, sizeof item, "%zu", k);
		p = json__pointer(names, item);
		free(names);
		return p;
	}
	if (strcmp(field, "codename") == 0)
		return json__pointer(r->pointer, r->variant_given ? "variant" : "codename");
	return json__pointer(r->pointer, field); /* the card's fields are named as the members */
}

/* The card of names[k]. */
static struct imp_card
json__card(const struct json__release *r, size_t k)
{
	struct imp_card card = r->card;

	card.name = json_string_value(json_array_get(r->names, k));
	return card;
}

/* Whether an error is already listed at pointer or inside it. */
static bool
json__reported(const struct imp_errors *errs, const char *pointer)
{
	size_t n = strlen(pointer);

	for (size_t i = 0; i < errs->n; i++) {
		const char *p = errs->items[i].pointer;

		if (p != NULL && strncmp(p, pointer, n) == 0 && (p[n] == '\0' || p[n] == '/'))
			return true;
	}
	return false;
}

/* Runs imp_normalize on every card of r, as the pipeline will: its refusals, each once,
 * but for members the shape checks already found wrong or missing. */
static void
json__normalize(struct json__ctx *ctx, const struct json__release *r, json_t *obj)
{
	size_t n = json_array_size(r->names);

	/* without a valid name, the other fields are checked all the same */
	for (size_t k = 0; k < (n > 0 ? n : 1); k++) {
		struct imp_card card = json__card(r, k);
		struct imp_row row;
		char err[512], prefix[300];
		const char *detail = err;
		char *pointer;
		bool seen = false;

		if (imp_normalize(&card, &row, err, sizeof err))
			continue;
		snprintf(prefix, sizeof prefix, "%s:%lu: ", card.file, card.line);
		if (strncmp(err, prefix, strlen(prefix)) == 0)
			detail += strlen(prefix); /* the pointer says where */
		pointer = json__normalize_pointer(r, row.reject_field, k);
		if (row.reject_field != NULL && strcmp(row.reject_field, "name") != 0 &&
		    json_object_get(obj, strrchr(pointer, '/') + 1) == NULL)
			seen = true; /* "the member ... is missing" says it */
		seen = seen || (strcmp(pointer, r->pointer) != 0 && json__reported(ctx->errs, pointer));
		for (size_t i = 0; i < ctx->errs->n && !seen; i++)
			seen = strcmp(ctx->errs->items[i].pointer ? ctx->errs->items[i].pointer : "", pointer) == 0 &&
			       strcmp(ctx->errs->items[i].detail, detail) == 0;
		if (!seen)
			imp_errors_add(ctx->errs, IMP_FAULT_INPUT, ctx->name, pointer, 0, 0, "%s", detail);
		free(pointer);
	}
}

bool
imp_read_json(const char *name, const char *data, size_t len, struct imp_sink *sink, struct imp_errors *errs)
{
	struct json__ctx ctx = {.name = name, .errs = errs};
	struct json__release *releases = NULL;
	size_t n = 1, before = errs->n;
	json_t *root, *list = NULL;
	json_error_t jerr;
	bool ok = false;
	char err[1024];

	if (len > IMP_JSON_MAX_BYTES) {
		imp_errors_add(errs, IMP_FAULT_INPUT, name, "", 0, 0, "%zu bytes, larger than the limit of %zu bytes",
			       len, IMP_JSON_MAX_BYTES);
		return false;
	}
	/* duplicate members are refused: a document that says two things says nothing */
	root = json_loadb(data != NULL ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		imp_errors_add(errs, IMP_FAULT_SYNTAX, name, NULL, jerr.line > 0 ? (unsigned long)jerr.line : 0,
			       jerr.column > 0 ? (unsigned long)jerr.column : 0, "malformed JSON: %s", jerr.text);
		return false;
	}
	if (json_is_object(root) && (list = json_object_get(root, "data")) != NULL) {
		const char *key;
		json_t *v;

		json_object_foreach(root, key, v) if (strcmp(key, "data") != 0)
			json__error(&ctx, "", key, "unknown member (a list of releases is {\"data\": [...]})");
		n = json_array_size(list);
		if (!json_is_array(list) || n == 0) {
			json__error(&ctx, "", "data", "must be a list of 1 to %d releases", IMP_JSON_MAX_RELEASES);
			goto out;
		}
		if (n > IMP_JSON_MAX_RELEASES) {
			json__error(&ctx, "", "data", "%zu releases, more than the %d one input may hold", n,
				    IMP_JSON_MAX_RELEASES);
			goto out;
		}
	} else if (!json_is_object(root)) {
		json__error(&ctx, "", NULL, "expected a release object, or {\"data\": [...]} with 1 to %d of them",
			    IMP_JSON_MAX_RELEASES);
		goto out;
	}
	if ((releases = calloc(n, sizeof *releases)) == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct json__release *r = &releases[i];

		if (list != NULL)
			snprintf(r->pointer, sizeof r->pointer, "/data/%zu", i);
		json_t *obj = list != NULL ? json_array_get(list, i) : root;

		if (json__release(&ctx, obj, r) || json_is_object(obj))
			json__normalize(&ctx, r, obj);
	}
	if (errs->n > before)
		goto out;
	/* the whole document is sound: only now does any card reach the pipeline */
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < json_array_size(releases[i].names); k++) {
			struct imp_card card = json__card(&releases[i], k);

			if (!sink->card(sink, &card, err, sizeof err)) {
				imp_errors_add_message(errs, IMP_FAULT_INPUT, name, err);
				goto out;
			}
		}
	}
	ok = true;
out:
	if (!ok && errs->fault == IMP_FAULT_NONE)
		errs->fault = IMP_FAULT_INPUT;
	free(releases);
	json_decref(root);
	return ok;
}
