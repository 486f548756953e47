/* Version grammars: families, numbers and codes. */
#include "check.h"

#include "version.h"

static struct ver v;

static enum ver_family
family(const char *text)
{
	ver_parse(text, &v);
	return v.family;
}

int
main(void)
{
	CHECK_INT(family("V12.5.3.0.RKHMIXM"), VER_MIUI);
	CHECK_INT(v.nnumbers, 4);
	CHECK_INT(v.numbers[0], 12);
	CHECK_INT(v.numbers[1], 5);
	CHECK_INT(v.numbers[2], 3);
	CHECK_INT(v.android_letter, 'R');
	CHECK_STR(v.device_code, "KH");
	CHECK_STR(v.region_code, "MI");
	CHECK_STR(v.suffix, "XM");
	CHECK_INT(family("OS2.0.208.0.VGQINXM"), VER_HYPEROS);
	CHECK_INT(v.numbers[2], 208);
	CHECK_STR(v.region_code, "IN");
	CHECK_INT(family("A15.0.15.0.VGWEUXM"), VER_MIUI);
	CHECK_INT(family("V816.0.3.0.UGRMIXM"), VER_MIUI);
	CHECK_INT(v.numbers[0], 816);
	CHECK_INT(family("V7.3.1.0.KHBCNDD"), VER_MIUI);
	CHECK_STR(v.suffix, "DD");
	CHECK_INT(family("7.3.23"), VER_WEEKLY);
	CHECK_INT(v.nnumbers, 3);
	CHECK_INT(v.android_letter, '\0');
	CHECK_INT(family("21.1.28"), VER_WEEKLY);
	CHECK_INT(family("V14.0.23.4.17.DEV"), VER_PUBLIC_BETA);
	CHECK_INT(v.nnumbers, 5);
	CHECK_INT(family("OS1.0.24.1.8.DEV"), VER_PUBLIC_BETA);
	CHECK_INT(family("V13.0.5.1.28.DEV"), VER_PUBLIC_BETA);

	/* no known grammar: kept, unparsed, no numbers */
	CHECK_INT(family("JHACNBH22.0"), VER_OTHER);
	CHECK_INT(v.nnumbers, 0);
	CHECK_INT(family("V.9.5.10.0.ODHMIFA"), VER_OTHER);
	CHECK_INT(family("V12.5.3.0.RKHMIX"), VER_OTHER);
	CHECK_INT(family("V12.5.3.0.rkhmixm"), VER_OTHER);
	CHECK_INT(family("V12.5.3.RKHMIXM"), VER_OTHER);
	CHECK_INT(family("7.3"), VER_OTHER);
	CHECK_INT(family("7.3.23.1"), VER_OTHER);
	CHECK_INT(family("A15.0.15.0.1.DEV"), VER_OTHER);
	CHECK_INT(family(""), VER_OTHER);
	CHECK_INT(family("V1234567.0.0.0.RKHMIXM"), VER_OTHER);

	CHECK_STR(ver_family_name(VER_PUBLIC_BETA), "public-beta");
	CHECK_STR(ver_android_of_letter('K'), "4.4");
	CHECK_STR(ver_android_of_letter('R'), "11.0");
	CHECK_STR(ver_android_of_letter('W'), "16.0");
	CHECK(ver_android_of_letter('J') == NULL);
	CHECK(ver_android_of_letter('X') == NULL);
	CHECK_DONE();
}
