/* Unit tests of the JSON reader (imp_json.c), the readers over bytes in memory, and the error list. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "imp_readers.h"

/* A sink that keeps copies of what it is given. */
struct got {
	struct imp_sink sink;
	size_t ncards, nvariants;
	char names[8][64], pointers[8][32], codenames[8][64];
	bool base[8], has_size[8];
	long long size[8];
	unsigned given[8];
};

static bool
got_card(struct imp_sink *sink, const struct imp_card *card, char *err, size_t errlen)
{
	struct got *g = (struct got *)sink;
	size_t i = g->ncards++;

	(void)err;
	(void)errlen;
	if (i < 8) {
		snprintf(g->names[i], sizeof g->names[i], "%s", card->name ? card->name : "(null)");
		snprintf(g->pointers[i], sizeof g->pointers[i], "%s", card->pointer ? card->pointer : "(null)");
		snprintf(g->codenames[i], sizeof g->codenames[i], "%s", card->codename ? card->codename : "(null)");
		g->base[i] = card->codename_is_base;
		g->has_size[i] = card->has_size_bytes;
		g->size[i] = card->size_bytes;
		g->given[i] = card->given;
	}
	return true;
}

static bool
got_variant(struct imp_sink *sink, const struct imp_variant *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	((struct got *)sink)->nvariants++;
	return true;
}

static struct got
got_new(void)
{
	return (struct got){.sink = {.card = got_card, .variant = got_variant}};
}

static bool
read_json(const char *text, struct got *g, struct imp_errors *errs)
{
	*g = got_new();
	return imp_read_json("body", text, strlen(text), &g->sink, errs);
}

/* The detail of the error at pointer, or NULL. */
static const char *
error_at(const struct imp_errors *errs, const char *pointer)
{
	for (size_t i = 0; i < errs->n; i++)
		if (errs->items[i].pointer != NULL && strcmp(errs->items[i].pointer, pointer) == 0)
			return errs->items[i].detail;
	return NULL;
}

#define RELEASE_MEMBERS                                                                                           \
	"\"names\": [\"MI 3 Global\"], \"version\": \"7.3.23\", \"branch\": \"weekly\", \"type\": \"recovery\", " \
	"\"links\": [\"https://bigota.d.miui.com/7.3.23/miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip\"]"

static void
test_one_release(void)
{
	struct imp_errors errs = {0};
	struct got g;

	CHECK(read_json("{\"codename\": \"cancro\", " RELEASE_MEMBERS ", \"size\": 967500000, \"md5\": null}", &g,
			&errs));
	CHECK_INT(errs.n, 0);
	CHECK_INT(errs.fault, IMP_FAULT_NONE);
	CHECK_INT(g.ncards, 1);
	CHECK_STR(g.names[0], "MI 3 Global");
	CHECK_STR(g.pointers[0], "");
	CHECK_STR(g.codenames[0], "cancro");
	CHECK(g.base[0]); /* a device alone: the variant is resolved by name, as a page's phone */
	CHECK(g.has_size[0]);
	CHECK_INT(g.size[0], 967500000);
	/* given: what the document has, null included (md5); not what it leaves out (date) */
	CHECK(g.given[0] & (1u << IMP_FIELD_MD5));
	CHECK(g.given[0] & (1u << IMP_FIELD_SIZE));
	CHECK(g.given[0] & (1u << IMP_FIELD_BRANCH));
	CHECK(!(g.given[0] & (1u << IMP_FIELD_DATE)));
	CHECK(!(g.given[0] & (1u << IMP_FIELD_VARIANT)));
	imp_errors_free(&errs);
}

static void
test_list_and_names(void)
{
	struct imp_errors errs = {0};
	struct got g;

	/* two releases, the second under two names and by its variant, in the site's words */
	CHECK(read_json("{\"data\": [{\"codename\": \"cancro\", " RELEASE_MEMBERS "},"
			" {\"variant\": \"cancro_global\", \"codename\": \"cancro\", \"names\": [\"A\", \"B\"],"
			" \"version\": \"7.3.23\", \"branch\": \"Stable Beta\", \"type\": \"Fastboot\","
			" \"links\": [\"https://x.example/a/b.tgz\"], \"size\": null}]}",
			&g, &errs));
	CHECK_INT(errs.n, 0);
	CHECK_INT(g.ncards, 3);
	CHECK_STR(g.pointers[0], "/data/0");
	CHECK_STR(g.pointers[1], "/data/1");
	CHECK_STR(g.pointers[2], "/data/1");
	CHECK_STR(g.names[1], "A");
	CHECK_STR(g.names[2], "B");
	CHECK_STR(g.codenames[1], "cancro_global");
	CHECK(!g.base[1]);
	CHECK(!g.has_size[1]); /* null: unknown */
	CHECK(g.given[1] & (1u << IMP_FIELD_VARIANT));
	imp_errors_free(&errs);
}

static void
test_shape_errors(void)
{
	struct imp_errors errs = {0};
	struct got g;

	/* every error of the document at once, each at its member; nothing reaches the sink */
	CHECK(!read_json(
		"{\"data\": ["
		"{\"codename\": \"cancro\", " RELEASE_MEMBERS "},"
		"{\"codename\": \"cancro\", " RELEASE_MEMBERS ", \"md5\": \"xyz\", \"size\": -1,"
		" \"date\": \"2017-02-30\", \"android\": \"six\"},"
		"{\"variant\": \"a-b\", \"names\": [\"A\", 3], \"version\": 7, \"branch\": \"nightly\","
		" \"type\": \"ota\", \"links\": [\"ftp://x/a.zip\"], \"id\": 1, \"region\": \"cn\", \"warnings\": [],"
		" \"a/b~c\": 0},"
		"{\"names\": [\"A\"]},"
		"[],"
		"{\"codename\": \"cancro\", \"variant\": \"gemini\", " RELEASE_MEMBERS "}"
		"], \"next\": null}",
		&g, &errs));
	CHECK_INT(g.ncards, 0);
	CHECK_INT(errs.fault, IMP_FAULT_INPUT);
	CHECK_STR(error_at(&errs, "/next"), "unknown member (a list of releases is {\"data\": [...]})");
	CHECK(error_at(&errs, "/data/0") == NULL);
	CHECK_STR(error_at(&errs, "/data/1/md5"), "must be 32 hex digits, or null when unknown");
	CHECK_STR(error_at(&errs, "/data/1/size"), "must be the size in bytes (an integer), or null when unknown");
	CHECK_STR(error_at(&errs, "/data/1/date"), "must be a date YYYY-MM-DD, or null when unknown");
	CHECK(error_at(&errs, "/data/1/android") != NULL);
	CHECK_STR(error_at(&errs, "/data/2/variant"), "must be 1 to 64 letters, digits or '_'");
	CHECK_STR(error_at(&errs, "/data/2/names/1"), "must be a string");
	CHECK_STR(error_at(&errs, "/data/2/version"), "must be a string");
	CHECK_STR(error_at(&errs, "/data/2/branch"), "must be stable, stable-beta, weekly or public-beta");
	CHECK_STR(error_at(&errs, "/data/2/type"), "must be recovery or fastboot");
	CHECK_STR(error_at(&errs, "/data/2/links/0"), "must be an http(s) URL of a file");
	CHECK_STR(error_at(&errs, "/data/2/id"), "romtrack derives the id of a release: leave it out");
	CHECK_STR(error_at(&errs, "/data/2/region"), "romtrack derives the region of a release: leave it out");
	CHECK(error_at(&errs, "/data/2/warnings") != NULL);
	/* RFC 6901: '~' is "~0", '/' is "~1" */
	CHECK_STR(error_at(&errs, "/data/2/a~1b~0c"), "unknown member");
	CHECK(error_at(&errs, "/data/3") != NULL); /* what is missing is said at the release */
	CHECK_STR(error_at(&errs, "/data/4"), "must be a release object");
	CHECK_STR(error_at(&errs, "/data/5/codename"), "variant gemini is a variant of gemini, not of cancro");
	{
		/* /data/3 lacks five members: one error for each, and no more */
		size_t at3 = 0;

		for (size_t i = 0; i < errs.n; i++)
			at3 += errs.items[i].pointer != NULL && strcmp(errs.items[i].pointer, "/data/3") == 0;
		CHECK_INT(at3, 5);
	}
	CHECK_INT(errs.n, 22);
	imp_errors_free(&errs);
}

static void
test_normalize_errors_have_pointers(void)
{
	struct imp_errors errs = {0};
	struct got g;

	/* what imp_normalize refuses, at the member it concerns: the version with a space, the
	 * second name with a control character, a file name that is no file name */
	CHECK(!read_json("{\"data\": [{\"codename\": \"cancro\", \"names\": [\"A\", \"B\\u0001\"],"
			 " \"version\": \"7 3\", \"branch\": \"weekly\", \"type\": \"recovery\","
			 " \"links\": [\"https://x.example/a/b.zip\"]},"
			 " {\"codename\": \"cancro\", " RELEASE_MEMBERS ", \"filename\": \"a/b.zip\"}]}",
			 &g, &errs));
	CHECK_INT(g.ncards, 0);
	CHECK_STR(error_at(&errs, "/data/0/version"),
		  "the version is missing, longer than 64 characters or has spaces");
	CHECK_STR(error_at(&errs, "/data/1/filename"), "the package name is empty, too long or not a file name");
	CHECK_INT(errs.n, 2); /* the version once, not once per name */
	imp_errors_free(&errs);
	/* and once the version is right, the name's control character */
	CHECK(!read_json("{\"codename\": \"cancro\", \"names\": [\"A\", \"B\\u0001\"], \"version\": \"7.3.23\","
			 " \"branch\": \"weekly\", \"type\": \"recovery\", \"links\": [\"https://x.example/a/b.zip\"]}",
			 &g, &errs));
	CHECK_STR(error_at(&errs, "/names/1"), "a field has a control character");
	CHECK_INT(errs.n, 1);
	imp_errors_free(&errs);
}

static void
test_incremental(void)
{
	static const char url[] = "https://bigota.d.miui.com/V12.0.10.0.QJDCNXM/"
				  "miui-blockota-apollo-V12.0.8.0.QJDCNXM-V12.0.10.0.QJDCNXM-d156e09864-10.0.zip";
	struct imp_errors errs = {0};
	char text[2048];
	struct got g;

	/* as reads return it: filename, from, to agree with the URL */
	snprintf(text, sizeof text,
		 "{\"codename\": \"apollo\", " RELEASE_MEMBERS
		 ", \"incremental\": {\"from\": \"V12.0.8.0.QJDCNXM\", \"to\": \"V12.0.10.0.QJDCNXM\","
		 " \"filename\": \"%s\", \"url\": \"%s\"}}",
		 strrchr(url, '/') + 1, url);
	CHECK(read_json(text, &g, &errs));
	CHECK_INT(errs.n, 0);
	snprintf(text, sizeof text,
		 "{\"codename\": \"apollo\", " RELEASE_MEMBERS
		 ", \"incremental\": {\"from\": \"V1\", \"filename\": \"x.zip\", \"size\": 1, \"url\": \"%s\"}}",
		 url);
	CHECK(!read_json(text, &g, &errs));
	CHECK_STR(error_at(&errs, "/incremental/from"), "must be what the file name says: V12.0.8.0.QJDCNXM");
	CHECK(error_at(&errs, "/incremental/filename") != NULL);
	CHECK(error_at(&errs, "/incremental/size") != NULL);
	CHECK_INT(errs.n, 3);
	imp_errors_free(&errs);
	CHECK(!read_json("{\"codename\": \"apollo\", " RELEASE_MEMBERS ", \"incremental\": {}}", &g, &errs));
	CHECK_STR(error_at(&errs, "/incremental"), "the member \"url\" is missing");
	imp_errors_free(&errs);
}

static void
test_malformed(void)
{
	struct imp_errors errs = {0};
	struct got g;

	/* line 3, column 10: the comma before '}' */
	CHECK(!read_json("{\"data\": [\n  {\"codename\": \"cancro\"},\n  {\"a\": 1,}\n]}", &g, &errs));
	CHECK_INT(errs.fault, IMP_FAULT_SYNTAX);
	CHECK_INT(errs.n, 1);
	CHECK(errs.items[0].pointer == NULL);
	CHECK_INT(errs.items[0].line, 3);
	CHECK_INT(errs.items[0].column, 11);
	CHECK(strncmp(errs.items[0].detail, "malformed JSON: ", 16) == 0);
	imp_errors_free(&errs);
	/* a member twice is refused as malformed too */
	CHECK(!read_json("{\"md5\": null,\n \"md5\": null}", &g, &errs));
	CHECK_INT(errs.fault, IMP_FAULT_SYNTAX);
	CHECK_INT(errs.items[0].line, 2);
	imp_errors_free(&errs);
	/* a root that is no object */
	CHECK(!read_json("[1]", &g, &errs));
	CHECK_INT(errs.fault, IMP_FAULT_INPUT);
	CHECK(error_at(&errs, "") != NULL);
	imp_errors_free(&errs);
	CHECK(!read_json("{\"data\": []}", &g, &errs));
	CHECK_STR(error_at(&errs, "/data"), "must be a list of 1 to 1000 releases");
	imp_errors_free(&errs);
}

static void
test_limit(void)
{
	struct imp_errors errs = {0};
	struct buf doc = {0};
	struct got g;

	for (int n = 1000; n <= 1001; n++) {
		doc.len = 0;
		buf_puts(&doc, "{\"data\": [");
		for (int i = 0; i < n; i++)
			buf_printf(&doc, "%s{\"codename\": \"cancro\", " RELEASE_MEMBERS "}", i ? "," : "");
		buf_puts(&doc, "]}");
		g = got_new();
		if (n == 1000) {
			CHECK(imp_read_json("body", doc.data, doc.len, &g.sink, &errs));
			CHECK_INT(g.ncards, 1000);
		} else {
			CHECK(!imp_read_json("body", doc.data, doc.len, &g.sink, &errs));
			CHECK_INT(g.ncards, 0);
			CHECK_INT(errs.n, 1);
			CHECK_STR(error_at(&errs, "/data"), "1001 releases, more than the 1000 one input may hold");
		}
		imp_errors_free(&errs);
	}
	buf_free(&doc);
}

static void
test_errors_list(void)
{
	struct imp_errors errs = {0};
	char line[256];
	json_t *j;
	char *text;

	imp_errors_add_message(&errs, IMP_FAULT_INPUT, "body", "body:12:5: the card has no \"Version\" field");
	imp_errors_add(&errs, IMP_FAULT_INPUT, "body", "/data/3/md5", 0, 0, "must be %d hex digits", 32);
	imp_errors_add_message(&errs, IMP_FAULT_INPUT, "body", "something else");
	CHECK_INT(errs.items[0].line, 12);
	CHECK_INT(errs.items[0].column, 5);
	CHECK_STR(errs.items[0].detail, "the card has no \"Version\" field");
	imp_error_format(&errs.items[0], line, sizeof line);
	CHECK_STR(line, "body:12:5: the card has no \"Version\" field");
	imp_error_format(&errs.items[1], line, sizeof line);
	CHECK_STR(line, "body: /data/3/md5: must be 32 hex digits");
	imp_error_format(&errs.items[2], line, sizeof line);
	CHECK_STR(line, "something else");
	j = imp_errors_json(&errs);
	text = json_dumps(j, JSON_COMPACT);
	CHECK_STR(
		text,
		"[{\"detail\":\"the card has no \\\"Version\\\" field\",\"line\":12,\"column\":5},"
		"{\"detail\":\"must be 32 hex digits\",\"pointer\":\"/data/3/md5\"},{\"detail\":\"something else\"}]");
	free(text);
	json_decref(j);
	/* the worst fault wins */
	imp_errors_add(&errs, IMP_FAULT_INTERNAL, NULL, NULL, 0, 0, "database: gone");
	CHECK_INT(errs.fault, IMP_FAULT_INTERNAL);
	imp_errors_free(&errs);
	CHECK_INT(errs.n, 0);
}

static void
test_media_types(void)
{
	enum imp_format f = IMP_FORMAT__MAX;

	CHECK(imp_format_from_media_type("text/markdown; charset=utf-8", &f) && f == IMP_FORMAT_PAGE);
	CHECK(imp_format_from_media_type("text/html", &f) && f == IMP_FORMAT_PAGE);
	CHECK(imp_format_from_media_type("application/yaml", &f) && f == IMP_FORMAT_XFU_YAML);
	CHECK(imp_format_from_media_type("Application/JSON", &f) && f == IMP_FORMAT_JSON);
	CHECK(!imp_format_from_media_type("application/jsonx", &f));
	CHECK(!imp_format_from_media_type("text/plain", &f));
	CHECK(imp_format_from_path("a/b.json", &f) && f == IMP_FORMAT_JSON);
	CHECK(!imp_format_from_path("a/b.jsonl", &f));
}

static void
test_buffers(void)
{
	static const char page[] = "---\nlayout: x\n---\n<div class=\"card card-body\"><ul>"
				   "<li><b>Device: </b>MI 3 Global</li>\n<li><b>Codename: </b>cancro</li>"
				   "<li><b>Version: </b>7.3.23</li><li><b>Branch: </b>Weekly</li>"
				   "<li><b>Type: </b>Recovery</li><li><b>Package Name: </b>a.zip</li>"
				   "<li><b>Download: </b><button onclick=\"window.open('https://x.example/a/a.zip',"
				   " '_blank');\">Full ROM</button></li></ul></div>";
	static const char devices[] = "cancro: [MI 3, MI3]\ncancro_global: [MI 3 Global, MI3Global]\n";
	char err[512], nul_page[sizeof page];
	struct got g = got_new();

	/* an HTTP body: bytes without a final NUL (the reader copies them) */
	CHECK(imp_read_page_buffer("body", page, sizeof page - 1, &g.sink, err, sizeof err));
	CHECK_INT(g.ncards, 1);
	CHECK_STR(g.names[0], "MI 3 Global");
	CHECK(imp_read_xfu_yaml_buffer("body", devices, sizeof devices - 1, &g.sink, err, sizeof err));
	CHECK_INT(g.nvariants, 2);
	/* a NUL byte is refused where it is (line 5, the card's second line) */
	memcpy(nul_page, page, sizeof page);
	nul_page[strstr(page, "<li><b>Codename") - page] = '\0';
	CHECK(!imp_read_page_buffer("body", nul_page, sizeof page - 1, &g.sink, err, sizeof err));
	CHECK_STR(err, "body:5:1: a NUL byte: a page is text");
	CHECK(!imp_read_xfu_yaml_buffer("body", "- [", 3, &g.sink, err, sizeof err));
	CHECK(strncmp(err, "body:", 5) == 0);
}

int
main(void)
{
	test_one_release();
	test_list_and_names();
	test_shape_errors();
	test_normalize_errors_have_pointers();
	test_incremental();
	test_malformed();
	test_limit();
	test_errors_list();
	test_media_types();
	test_buffers();
	CHECK_DONE();
}
