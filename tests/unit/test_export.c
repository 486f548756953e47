/* XFU's formats: sizes as Python humanize's naturalsize writes them (XFU's tracker writes its sizes with it), the
 * name of a device without its region, and an RSS item from rows libpq is given by hand. The expected values follow
 * naturalsize's rule (decimal units from kB, one decimal, "%d Bytes" below 1000 and "1 Byte") and XFU's rss.py (its
 * description's f-strings, '<br>'.join(changelog.splitlines()), lxml's escaping of text), worked out by hand; the
 * first three sizes are sizes of XFU's files. */
#include "check.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "domain.h"
#include "export.h"
#include "queries.h"

static bool
append(void *data, const char *bytes, size_t len)
{
	buf_put(data, bytes, len);
	return true;
}

/* A result with the columns of DB_STMT_XFU_ENTRIES and one row: every column NULL but those given. */
static PGresult *
entry_row(const char *const values[XFUCOL__MAX])
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[XFUCOL__MAX];

	for (int c = 0; c < XFUCOL__MAX; c++)
		attrs[c] = (PGresAttDesc){.name = (char *)"c", .typid = 25, .typlen = -1, .atttypmod = -1};
	CHECK(PQsetResultAttrs(res, XFUCOL__MAX, attrs));
	for (int c = 0; c < XFUCOL__MAX; c++)
		/* libpq copies the value; its prototype merely lacks the const */
		CHECK(values[c] ? PQsetvalue(res, 0, c, (char *)(uintptr_t)values[c], (int)strlen(values[c]))
				: PQsetvalue(res, 0, c, NULL, -1));
	return res;
}

static void
test_rss_item(void)
{
	const char *v[XFUCOL__MAX] = {NULL};
	struct exp_rss_channel channel = {"Redmi K40 China", "alioth", "https://roms.example.org/api/devices/alioth"};
	struct buf out = {0};
	PGresult *res;

	v[XFUCOL_BRANCH] = "stable-beta";
	v[XFUCOL_METHOD] = "recovery";
	v[XFUCOL_CODENAME] = "alioth_global";
	v[XFUCOL_VERSION] = "V1.0 & <2>";
	v[XFUCOL_LINK] = "https://x.example/a.zip?a=1&b=2";
	v[XFUCOL_SIZE] = "3900000000";
	v[XFUCOL_CHANGELOG] = "[System]\r\nFix: \"quoted\"\nLast line\n";
	v[XFUCOL_INCREMENTAL] = "https://x.example/inc.zip";
	v[XFUCOL_MODIFIED_ISO] = "2026-01-02T03:04:05Z";
	v[XFUCOL_MODIFIED] = "Fri, 02 Jan 2026 03:04:05 +0000";
	/* no name (a variant without display names), no MD5, no Android, no date: what XFU's Python writes, None */
	res = entry_row(v);
	CHECK(exp_rss(res, &channel, append, &out));
	CHECK(strstr(out.data, "<title>Redmi K40 MIUI Updates Tracker by romtrack</title>") != NULL);
	CHECK(strstr(out.data, "<lastBuildDate>Fri, 02 Jan 2026 03:04:05 +0000</lastBuildDate>") != NULL);
	CHECK_STR(
		strstr(out.data, "<item>"),
		"<item><title>MIUI V1.0 &amp; &lt;2&gt; Recovery update for alioth_global</title>"
		"<link>https://x.example/a.zip?a=1&amp;b=2</link><description>"
		"&lt;p&lt;b&gt;New Stable Beta Recovery update available!&lt;/b&gt;&lt;/p&gt;\n"
		"&lt;p&gt;&lt;b&gt;Device:&lt;/b&gt; alioth_global&lt;/p&gt;\n"
		"&lt;p&gt;&lt;b&gt;Codename:&lt;/b&gt; alioth&lt;/p&gt;\n"
		"&lt;p&gt;&lt;b&gt;Version:&lt;/b&gt; V1.0 &amp; &lt;2&gt; | None&lt;/p&gt;\n"
		"&lt;p&gt;&lt;b&gt;Size:&lt;/b&gt; 3.9 GB&lt;/p&gt;\n"
		"&lt;p&gt;&lt;b&gt;MD5:&lt;/b&gt; None&lt;/p&gt;\n"
		"&lt;p&gt;&lt;b&gt;Changelog:&lt;/b&gt;&lt;br&gt;[System]&lt;br&gt;Fix: \"quoted\"&lt;br&gt;Last line&lt;/p&gt;\n"
		"&lt;p&gt;&lt;b&gt;Download:&lt;/b&gt; &lt;a href='https://x.example/a.zip?a=1&amp;b=2'&gt;Here&lt;/a&gt;&lt;/p&gt;"
		"&lt;p&gt;&lt;b&gt;Incremental Update:&lt;/b&gt; &lt;a href='https://x.example/inc.zip'&gt;Here&lt;/a&gt;&lt;/p&gt;"
		"</description></item></channel></rss>\n");
	PQclear(res);
	buf_free(&out);
}

static void
size_is(long long bytes, const char *want)
{
	char got[64];

	exp_format_size(bytes, got, sizeof got);
	CHECK_STR(got, want);
}

int
main(void)
{
	size_is(315900000, "315.9 MB"); /* data/xfu/latest.yml, HM2013022 */
	size_is(1000000000, "1.0 GB");  /* rss/HM2013023.xml, 7.4.27 Fastboot */
	size_is(484, "484 Bytes");      /* latest.yml's implausible sizes */
	size_is(1, "1 Byte");
	size_is(0, "0 Bytes");
	size_is(999, "999 Bytes");
	size_is(1000, "1.0 kB");
	size_is(1049, "1.0 kB");
	size_is(1051, "1.1 kB");
	size_is(999949, "999.9 kB");
	size_is(999950, "1000.0 kB"); /* below 10^6: still kB, rounded up */
	size_is(1000000, "1.0 MB");
	size_is(4294967296LL, "4.3 GB");
	size_is(1500000000000LL, "1.5 TB");

	CHECK_INT((int)dom_name_without_region("Redmi K40 China"), 9);
	CHECK_INT((int)dom_name_without_region("Redmi 1 W Global"), 9);
	CHECK_INT((int)dom_name_without_region("Redmi Note 5 South Korea"), 12);
	CHECK_INT((int)dom_name_without_region("MI 3 / Mi 4"), 11);
	CHECK_INT((int)dom_name_without_region("Global"), 6); /* a region word alone is the whole name */
	test_rss_item();
	CHECK_DONE();
}
