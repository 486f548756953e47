/* Atom feeds (RFC 4287) of releases, written with libxml2's XML writer. */
#include "handlers.h"

#include <jansson.h>
#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "queries.h"

#define FEED__NS "http://www.w3.org/2005/Atom"

static char *feed__public_url;       /* NULL: from each request */
static char *feed__release_page_url; /* NULL: no website to link to */

/* The release columns the placeholders of release_page_url stand for, in the order of
 * CFG_RELEASE_PAGE_FIELDS (config.c checks the names). */
static const struct {
	const char *name;
	int column;
} feed__fields[] = {
	{"codename", RELCOL_DEVICE}, {"variant", RELCOL_VARIANT},   {"region", RELCOL_REGION},
	{"branch", RELCOL_BRANCH},   {"type", RELCOL_TYPE},         {"version", RELCOL_VERSION},
	{"id", RELCOL_ID},           {"filename", RELCOL_FILENAME},
};
_Static_assert(sizeof feed__fields / sizeof feed__fields[0] ==
		       sizeof(const char *[]){CFG_RELEASE_PAGE_FIELDS} / sizeof(const char *),
	       "every placeholder config.c accepts has a column");

void
h_feeds_configure(const char *public_url, const char *release_page_url)
{
	free(feed__public_url);
	free(feed__release_page_url);
	feed__public_url = public_url && *public_url ? strdup(public_url) : NULL;
	feed__release_page_url = release_page_url && *release_page_url ? strdup(release_page_url) : NULL;
}

const char *
h_feed_base_url(struct handler_ctx *ctx)
{
	return feed__public_url ? feed__public_url : http_request_base_url(ctx->req);
}

/* s with every character a URN's NSS cannot hold as it is (RFC 8141: pchar and '/')
 * percent-encoded. */
static const char *
feed__urn_escape(struct arena *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = arena_alloc(a, strlen(s) * 3 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~!$&'()*+,;=:@/", *p) != NULL) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/* release_page_url with the row's values in place of its placeholders. */
static const char *
feed__release_page(struct arena *a, const PGresult *res, int row)
{
	const char *out = "";

	for (const char *p = feed__release_page_url; *p;) {
		const char *open = strchr(p, '{');

		if (open == NULL) {
			out = arena_printf(a, "%s%s", out, p);
			break;
		}
		out = arena_printf(a, "%s%.*s", out, (int)(open - p), p);
		p = strchr(open, '}') + 1; /* config.c checked that every { is closed */
		for (size_t i = 0; i < sizeof feed__fields / sizeof feed__fields[0]; i++)
			if (strncmp(feed__fields[i].name, open + 1, (size_t)(p - open - 2)) == 0 &&
			    strlen(feed__fields[i].name) == (size_t)(p - open - 2))
				out = arena_printf(a, "%s%s", out,
						   http_encode(a, PQgetvalue(res, row, feed__fields[i].column)));
	}
	return out;
}

static void
feed__link(xmlTextWriterPtr w, const char *rel, const char *type, const char *length, const char *href)
{
	xmlTextWriterStartElement(w, BAD_CAST "link");
	xmlTextWriterWriteAttribute(w, BAD_CAST "rel", (const xmlChar *)rel);
	if (type != NULL)
		xmlTextWriterWriteAttribute(w, BAD_CAST "type", (const xmlChar *)type);
	if (length != NULL)
		xmlTextWriterWriteAttribute(w, BAD_CAST "length", (const xmlChar *)length);
	xmlTextWriterWriteAttribute(w, BAD_CAST "href", (const xmlChar *)href);
	xmlTextWriterEndElement(w);
}

/* An RFC 3339 time for a release: when romtrack last changed it. */
static const char *
feed__updated(const PGresult *res, int row)
{
	return PQgetvalue(res, row, RELCOL_MODIFIED);
}

/* A JSON text column (names, links) parsed with jansson; NULL text gives JSON null. */
static json_t *
feed__json_column(const PGresult *res, int row, int col)
{
	json_t *v = PQgetisnull(res, row, col) ? NULL : json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);

	return v ? v : json_null();
}

/* One entry. Its links, all absolute: first the alternate a person opens (the website's
 * page with release_page_url, else the package's download), then the release's JSON, then
 * each download as an enclosure. */
static void
feed__entry(xmlTextWriterPtr w, struct arena *a, const char *base, const PGresult *res, int row)
{
	const char *get[] = {PQgetvalue(res, row, RELCOL_VERSION), PQgetvalue(res, row, RELCOL_BRANCH),
			     PQgetvalue(res, row, RELCOL_TYPE), PQgetvalue(res, row, RELCOL_FILENAME)};
	json_t *names = feed__json_column(res, row, RELCOL_NAMES), *links = feed__json_column(res, row, RELCOL_LINKS);
	const char *name = json_array_size(names) ? json_string_value(json_array_get(names, 0))
						  : PQgetvalue(res, row, RELCOL_VARIANT);
	const char *type = strstr(get[3], ".tgz") ? "application/gzip" : "application/zip";
	const char *length = PQgetisnull(res, row, RELCOL_SIZE) ? NULL : PQgetvalue(res, row, RELCOL_SIZE);
	const char *json = arena_printf(a, "%s/api/releases/%s", base, PQgetvalue(res, row, RELCOL_ID));
	char buf[512];

	xmlTextWriterStartElement(w, BAD_CAST "entry");
	/* stable across imports and hosts: the package file name */
	xmlTextWriterWriteElement(w, BAD_CAST "id",
				  BAD_CAST arena_printf(a, "urn:romtrack:release:%s", feed__urn_escape(a, get[3])));
	snprintf(buf, sizeof buf, "%s %s (%s, %s)", name, get[0], get[1], get[2]);
	xmlTextWriterWriteElement(w, BAD_CAST "title", BAD_CAST buf);
	xmlTextWriterWriteElement(w, BAD_CAST "updated", (const xmlChar *)feed__updated(res, row));
	if (!PQgetisnull(res, row, RELCOL_DATE)) {
		snprintf(buf, sizeof buf, "%sT00:00:00Z", PQgetvalue(res, row, RELCOL_DATE));
		xmlTextWriterWriteElement(w, BAD_CAST "published", BAD_CAST buf);
	}
	if (feed__release_page_url != NULL)
		feed__link(w, "alternate", "text/html", NULL, feed__release_page(a, res, row));
	else /* the package itself (at least one link per release, each http(s)); no type, which
	      * readers take for a page to open (feedparser ignores an alternate of another type) */
		feed__link(w, "alternate", NULL, NULL, json_string_value(json_array_get(links, 0)));
	feed__link(w, "related", "application/json", NULL, json);
	for (size_t i = 0; i < json_array_size(links); i++)
		feed__link(w, "enclosure", type, length, json_string_value(json_array_get(links, i)));
	for (int c = 1; c <= 2; c++) {
		xmlTextWriterStartElement(w, BAD_CAST "category");
		xmlTextWriterWriteAttribute(w, BAD_CAST "term", (const xmlChar *)get[c]);
		xmlTextWriterEndElement(w);
	}
	xmlTextWriterStartElement(w, BAD_CAST "summary");
	xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "text");
	xmlTextWriterWriteString(w, (const xmlChar *)(PQgetisnull(res, row, RELCOL_CHANGELOG)
							      ? get[3]
							      : PQgetvalue(res, row, RELCOL_CHANGELOG)));
	xmlTextWriterEndElement(w);
	xmlTextWriterEndElement(w);
	json_decref(names);
	json_decref(links);
}

static void
feed__free_buffer(void *p)
{
	xmlBufferFree(p);
}

/* Writes the feed of the rows; title names what it follows. */
static void
feed__send(struct handler_ctx *ctx, const PGresult *res, const char *title)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
	const char *base = h_feed_base_url(ctx);
	/* the request in canonical form: every spelling of one request gets one feed */
	const char *canonical = h_self_url(ctx), *query = strchr(canonical, '?');
	size_t path_len = query ? (size_t)(query - canonical) : strlen(canonical);
	const char *self = arena_printf(ctx->arena, "%s%s", base, canonical), *updated = "1970-01-01T00:00:00Z";

	if (w == NULL) {
		xmlBufferFree(buf);
		h_problem(ctx, RT_ERR_INTERNAL, "cannot write the feed", NULL);
		return;
	}
	/* the feed changes when its newest change does */
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(feed__updated(res, i), updated) > 0)
			updated = feed__updated(res, i);
	xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
	xmlTextWriterStartElementNS(w, NULL, BAD_CAST "feed", BAD_CAST FEED__NS);
	/* the same for every host, as the entries' ids */
	xmlTextWriterWriteElement(w, BAD_CAST "id",
				  BAD_CAST arena_printf(ctx->arena, "urn:romtrack:feed:%s",
							feed__urn_escape(ctx->arena, canonical)));
	xmlTextWriterWriteElement(w, BAD_CAST "title", (const xmlChar *)title);
	xmlTextWriterWriteElement(w, BAD_CAST "updated", (const xmlChar *)updated);
	feed__link(w, "self", "application/atom+xml", NULL, self);
	/* the same releases as JSON: ".../feed.atom?q" is ".../releases?q", whose filters include the feed's */
	feed__link(w, "alternate", "application/json", NULL,
		   arena_printf(ctx->arena, "%s%.*s/releases%s", base, (int)(path_len - strlen("/feed.atom")),
				canonical, query ? query : ""));
	xmlTextWriterStartElement(w, BAD_CAST "author");
	xmlTextWriterWriteElement(w, BAD_CAST "name", BAD_CAST "romtrack");
	xmlTextWriterEndElement(w);
	xmlTextWriterWriteElement(w, BAD_CAST "generator", BAD_CAST "romtrack");
	for (int i = 0; i < PQntuples(res); i++)
		feed__entry(w, ctx->arena, base, res, i);
	xmlTextWriterEndDocument(w);
	xmlFreeTextWriter(w);
	arena_cleanup_add(ctx->arena, feed__free_buffer, buf);
	http_set_body(ctx->res, 200, "application/atom+xml", (const char *)xmlBufferContent(buf));
}

/* The rows of DB_STMT_RELEASES for the feed's filters, or NULL after a problem. */
static PGresult *
feed__rows(struct handler_ctx *ctx, const char *codenames)
{
	struct db_args args = h_listing_args(ctx, ctx->params->limit);

	args.codenames = codenames;
	return h_query(ctx, DB_STMT_RELEASES, &args);
}

void
h_feed(struct handler_ctx *ctx)
{
	const char *codenames = params_codename_array(ctx->params, ctx->arena);
	PGresult *res = feed__rows(ctx, codenames);

	if (res != NULL)
		feed__send(ctx, res,
			   codenames ? arena_printf(ctx->arena, "romtrack: new ROMs for %s",
						    ctx->params->value[PARAM_CODENAME])
				     : "romtrack: new ROMs");
}

void
h_device_feed(struct handler_ctx *ctx)
{
	const char *codename = ctx->path->codename;
	PGresult *res;

	res = feed__rows(ctx, arena_printf(ctx->arena, "{%s}", codename));
	if (res == NULL)
		return;
	/* nothing found: an empty answer for a device, a 404 for a codename nobody has */
	if (PQntuples(res) == 0 && !h_device_exists(ctx, codename))
		return;
	feed__send(ctx, res, arena_printf(ctx->arena, "romtrack: new ROMs for %s", codename));
}
