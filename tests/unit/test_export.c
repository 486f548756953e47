/* XFU's formats: sizes as Python humanize's naturalsize writes them (XFU's tracker writes its sizes with it), the
 * name of a device without its region. The expected values follow naturalsize's rule (decimal units from kB, one
 * decimal, "%d Bytes" below 1000 and "1 Byte"), worked out by hand; the first three are sizes of XFU's files. */
#include "check.h"

#include "domain.h"
#include "export.h"

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
	CHECK_DONE();
}
