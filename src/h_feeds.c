/* Atom feeds (RFC 4287) of releases, written with libxml2's XML writer. */
#include "handlers.h"

#include <jansson.h>
#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>

#include "queries.h"

#define FEED__NS "http://www.w3.org/2005/Atom"

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

static void
feed__entry(xmlTextWriterPtr w, const PGresult *res, int row)
{
	const char *get[] = {PQgetvalue(res, row, RELCOL_VERSION), PQgetvalue(res, row, RELCOL_BRANCH),
			     PQgetvalue(res, row, RELCOL_TYPE), PQgetvalue(res, row, RELCOL_FILENAME)};
	json_t *names = feed__json_column(res, row, RELCOL_NAMES), *links = feed__json_column(res, row, RELCOL_LINKS);
	const char *name = json_array_size(names) ? json_string_value(json_array_get(names, 0))
						  : PQgetvalue(res, row, RELCOL_VARIANT);
	const char *type = strstr(get[3], ".tgz") ? "application/gzip" : "application/zip";
	char buf[512];

	xmlTextWriterStartElement(w, BAD_CAST "entry");
	/* stable across imports and hosts: the package file name */
	snprintf(buf, sizeof buf, "urn:romtrack:release:%s", get[3]);
	xmlTextWriterWriteElement(w, BAD_CAST "id", BAD_CAST buf);
	snprintf(buf, sizeof buf, "%s %s (%s, %s)", name, get[0], get[1], get[2]);
	xmlTextWriterWriteElement(w, BAD_CAST "title", BAD_CAST buf);
	xmlTextWriterWriteElement(w, BAD_CAST "updated", BAD_CAST feed__updated(res, row));
	if (!PQgetisnull(res, row, RELCOL_DATE)) {
		snprintf(buf, sizeof buf, "%sT00:00:00Z", PQgetvalue(res, row, RELCOL_DATE));
		xmlTextWriterWriteElement(w, BAD_CAST "published", BAD_CAST buf);
	}
	xmlTextWriterStartElement(w, BAD_CAST "link");
	xmlTextWriterWriteAttribute(w, BAD_CAST "rel", BAD_CAST "alternate");
	xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "application/json");
	snprintf(buf, sizeof buf, "/api/releases/%s", PQgetvalue(res, row, RELCOL_ID));
	xmlTextWriterWriteAttribute(w, BAD_CAST "href", BAD_CAST buf);
	xmlTextWriterEndElement(w);
	for (size_t i = 0; i < json_array_size(links); i++) {
		xmlTextWriterStartElement(w, BAD_CAST "link");
		xmlTextWriterWriteAttribute(w, BAD_CAST "rel", BAD_CAST "enclosure");
		xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST type);
		if (!PQgetisnull(res, row, RELCOL_SIZE))
			xmlTextWriterWriteAttribute(w, BAD_CAST "length", BAD_CAST PQgetvalue(res, row, RELCOL_SIZE));
		xmlTextWriterWriteAttribute(w, BAD_CAST "href", BAD_CAST json_string_value(json_array_get(links, i)));
		xmlTextWriterEndElement(w);
	}
	for (int c = 1; c <= 2; c++) {
		xmlTextWriterStartElement(w, BAD_CAST "category");
		xmlTextWriterWriteAttribute(w, BAD_CAST "term", BAD_CAST get[c]);
		xmlTextWriterEndElement(w);
	}
	xmlTextWriterStartElement(w, BAD_CAST "summary");
	xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "text");
	xmlTextWriterWriteString(w, BAD_CAST(PQgetisnull(res, row, RELCOL_CHANGELOG)
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
	const char *self = h_self_url(ctx), *updated = "1970-01-01T00:00:00Z";

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
	xmlTextWriterWriteElement(w, BAD_CAST "id", BAD_CAST arena_printf(ctx->arena, "urn:romtrack:feed:%s", self));
	xmlTextWriterWriteElement(w, BAD_CAST "title", BAD_CAST title);
	xmlTextWriterWriteElement(w, BAD_CAST "updated", BAD_CAST updated);
	xmlTextWriterStartElement(w, BAD_CAST "link");
	xmlTextWriterWriteAttribute(w, BAD_CAST "rel", BAD_CAST "self");
	xmlTextWriterWriteAttribute(w, BAD_CAST "href", BAD_CAST self);
	xmlTextWriterEndElement(w);
	xmlTextWriterStartElement(w, BAD_CAST "author");
	xmlTextWriterWriteElement(w, BAD_CAST "name", BAD_CAST "romtrack");
	xmlTextWriterEndElement(w);
	xmlTextWriterWriteElement(w, BAD_CAST "generator", BAD_CAST "romtrack");
	for (int i = 0; i < PQntuples(res); i++)
		feed__entry(w, res, i);
	xmlTextWriterEndDocument(w);
	xmlFreeTextWriter(w);
	arena_cleanup_add(ctx->arena, feed__free_buffer, buf);
	http_set_body(ctx->res, 200, "application/atom+xml", (const char *)xmlBufferContent(buf));
}

/* The rows of DB_STMT_RELEASES for the feed's filters, or NULL after a problem. */
static PGresult *
feed__rows(struct handler_ctx *ctx, const char *codenames)
{
	const char *const *v = ctx->params->value;

	return h_query(ctx, DB_STMT_RELEASES,
		       (const char *const[]){codenames, v[PARAM_REGION], v[PARAM_BRANCH], v[PARAM_TYPE],
					     v[PARAM_ANDROID], v[PARAM_FAMILY], v[PARAM_SINCE], v[PARAM_UNTIL],
					     NULL, NULL, NULL, arena_printf(ctx->arena, "%ld", ctx->params->limit)});
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
	const char *codename = h_codename(ctx);
	PGresult *res;

	if (codename == NULL)
		return;
	res = feed__rows(ctx, arena_printf(ctx->arena, "{%s}", codename));
	if (res == NULL)
		return;
	/* nothing found: an empty answer for a device, a 404 for a codename nobody has */
	if (PQntuples(res) == 0 && !h_device_exists(ctx, codename))
		return;
	feed__send(ctx, res, arena_printf(ctx->arena, "romtrack: new ROMs for %s", codename));
}
