/* The import mapping: sizes, MD5s, dates, branches, types, regions, version sort keys, file names. */
#include "check.h"

#include "domain.h"
#include "imp_normalize.h"

static long long
size_of(const char *text)
{
	long long bytes = -1;

	return imp_parse_size(text, &bytes) ? bytes : -1;
}

static const char *
region_of_codename(const char *codename, char *base)
{
	return dom_region_name(dom_variant_split(codename, base));
}

int
main(void)
{
	char md5buf[33], base[64], out[256], prefix[11];
	const char *md5, *date;

	/* sizes, decimal units as the site shows them */
	CHECK_INT(size_of("1.3 GB"), 1300000000LL);
	CHECK_INT(size_of("846.8 MB"), 846800000LL);
	CHECK_INT(size_of("484 Bytes"), 484);
	CHECK_INT(size_of("315.9 MB"), 315900000LL);
	CHECK_INT(size_of("8.3 GB"), 8300000000LL);
	CHECK_INT(size_of("12 KB"), 12000);
	CHECK_INT(size_of("0.05 GB"), 50000000LL);
	CHECK_INT(size_of("2GB"), 2000000000LL);
	CHECK_INT(size_of("GB"), -1);
	CHECK_INT(size_of("1.3"), -1);
	CHECK_INT(size_of("1.3 parsecs"), -1);
	CHECK_INT(size_of("Unknown"), -1);
	CHECK_INT(size_of(""), -1);
	CHECK_INT(size_of(NULL), -1);
	CHECK_INT(size_of("-1 MB"), -1);
	CHECK_INT(size_of("1. MB"), -1);
	CHECK_INT(size_of("99999999999 TB"), -1); /* would overflow */
	CHECK_INT(size_of("10000000 TB"), -1);
	CHECK_INT(size_of("9000 TB"), 9000000000000000LL);

	/* MD5 */
	CHECK(imp_parse_md5("Unknown", md5buf, &md5) && md5 == NULL);
	CHECK(imp_parse_md5("", md5buf, &md5) && md5 == NULL);
	CHECK(imp_parse_md5(NULL, md5buf, &md5) && md5 == NULL);
	CHECK(imp_parse_md5("A4BD134F029BD7D93D1CF595A4EDB60A", md5buf, &md5));
	CHECK_STR(md5, "a4bd134f029bd7d93d1cf595a4edb60a");
	CHECK(!imp_parse_md5("a4bd134f02", md5buf, &md5));
	CHECK(!imp_parse_md5("a4bd134f029bd7d93d1cf595a4edb60g", md5buf, &md5));
	CHECK(md5 == NULL && md5buf[0] == '\0'); /* never a partial value */

	/* dates */
	CHECK(imp_parse_date("None", &date) && date == NULL);
	CHECK(imp_parse_date(NULL, &date) && date == NULL);
	CHECK(imp_parse_date("2015-03-26", &date));
	CHECK_STR(date, "2015-03-26");
	CHECK(!imp_parse_date("2015-02-30", &date));
	CHECK(!imp_parse_date("26/03/2015", &date));

	/* branches and types, as the site spells them */
	CHECK_INT(imp_branch_from_site("Stable"), DOM_BRANCH_STABLE);
	CHECK_INT(imp_branch_from_site("Stable Beta"), DOM_BRANCH_STABLE_BETA);
	CHECK_INT(imp_branch_from_site("Weekly"), DOM_BRANCH_WEEKLY);
	CHECK_INT(imp_branch_from_site("Public Beta"), DOM_BRANCH_PUBLIC_BETA);
	CHECK_INT(imp_branch_from_site("public-beta"), DOM_BRANCH_PUBLIC_BETA);
	CHECK_INT(imp_branch_from_site("Nightly"), DOM_BRANCH__MAX);
	CHECK_INT(imp_branch_from_site(NULL), DOM_BRANCH__MAX);
	CHECK_INT(imp_type_from_site("Recovery"), DOM_TYPE_RECOVERY);
	CHECK_INT(imp_type_from_site("Fastboot"), DOM_TYPE_FASTBOOT);
	CHECK_INT(imp_type_from_site("OTA"), DOM_TYPE__MAX);

	/* Android versions */
	CHECK(imp_android_valid("6.0"));
	CHECK(imp_android_valid("15"));
	CHECK(!imp_android_valid("4.4.2"));
	CHECK(!imp_android_valid("123"));
	CHECK(imp_android_valid("10.0"));
	CHECK(!imp_android_valid("6."));
	CHECK(!imp_android_valid(".6"));
	CHECK(!imp_android_valid("Q"));
	CHECK(!imp_android_valid(""));

	/* regions from codenames: suffix, base codename */
	CHECK_STR(region_of_codename("alioth", base), "cn");
	CHECK_STR(base, "alioth");
	CHECK_STR(region_of_codename("alioth_global", base), "global");
	CHECK_STR(base, "alioth");
	CHECK_STR(region_of_codename("alioth_eea_global", base), "eea");
	CHECK_STR(base, "alioth");
	CHECK_STR(region_of_codename("curtana_in_rf_global", base), "in");
	CHECK_STR(base, "curtana");
	CHECK_STR(region_of_codename("sakura_india_global", base), "in");
	CHECK_STR(region_of_codename("begoniain_in_global", base), "in");
	CHECK_STR(base, "begoniain");
	CHECK_STR(region_of_codename("HM2013023_sg_global", base), "sg");
	CHECK_STR(base, "HM2013023");
	CHECK_STR(region_of_codename("zorn_jp_global", base), "jp");
	CHECK_STR(region_of_codename("ruby_kr_global", base), "kr");
	CHECK_STR(region_of_codename("cancro_lte_ct", base), "cn");
	CHECK_STR(base, "cancro");
	CHECK_STR(region_of_codename("dandelion_c3l2_id_global", base), "id");
	CHECK_STR(base, "dandelion_c3l2");
	/* a codename that is only a suffix is not split */
	CHECK_STR(region_of_codename("_global", base), "cn");
	CHECK_STR(base, "_global");

	/* regions from display names */
	CHECK_INT(dom_region_from_name("POCO F3 Global"), DOM_REGION_GLOBAL);
	CHECK_INT(dom_region_from_name("Redmi K40 China"), DOM_REGION_CN);
	CHECK_INT(dom_region_from_name("Xiaomi 11T EEA"), DOM_REGION_EEA);
	CHECK_INT(dom_region_from_name("Mi 11X India"), DOM_REGION_IN);
	CHECK_INT(dom_region_from_name("Redmi Note 12 Pro / Pro+ 5G South Korea"), DOM_REGION_KR);
	CHECK_INT(dom_region_from_name("Redmi 1 W Singapore"), DOM_REGION_SG);
	CHECK_INT(dom_region_from_name("Mi A1"), DOM_REGION__MAX);

	/* regions from versions */
	CHECK_INT(dom_region_from_version("V12.5.3.0.RKHMIXM"), DOM_REGION_GLOBAL);
	CHECK_INT(dom_region_from_version("OS1.0.5.0.TKHMIXM"), DOM_REGION_GLOBAL);
	CHECK_INT(dom_region_from_version("OS2.0.208.0.VGQINXM"), DOM_REGION_IN);
	CHECK_INT(dom_region_from_version("A15.0.15.0.VGWEUXM"), DOM_REGION_EEA);
	CHECK_INT(dom_region_from_version("V7.3.1.0.KHBCNDD"), DOM_REGION_CN);
	CHECK_INT(dom_region_from_version("V14.0.6.0.SJWINRF"), DOM_REGION_IN);
	CHECK_INT(dom_region_from_version("OS3.0.301.0.WNNIDXM"), DOM_REGION_ID);
	CHECK_INT(dom_region_from_version("7.3.23"), DOM_REGION__MAX);
	CHECK_INT(dom_region_from_version("V14.0.23.4.17.DEV"), DOM_REGION__MAX);
	CHECK_INT(dom_region_from_version("JHACNBH22.0"), DOM_REGION__MAX);
	CHECK_INT(dom_region_from_version("V1.0.0.0.KHBXXDD"), DOM_REGION__MAX);

	/* version sort keys order numerically */
	{
		char k1[256], k2[256];

		imp_version_sort_key("V12.5.3.0.RKHMIXM", k1, sizeof k1);
		imp_version_sort_key("V9.5.3.0.RKHMIXM", k2, sizeof k2);
		CHECK(strcmp(k1, k2) > 0);
		imp_version_sort_key("OS2.0.208.0.VGQINXM", k1, sizeof k1);
		imp_version_sort_key("OS2.0.21.0.VGQINXM", k2, sizeof k2);
		CHECK(strcmp(k1, k2) > 0);
		imp_version_sort_key("9.8.22", k1, sizeof k1);
		imp_version_sort_key("9.10.1", k2, sizeof k2);
		CHECK(strcmp(k1, k2) < 0);
		imp_version_sort_key("V10.0.1.0", k1, sizeof k1);
		CHECK_STR(k1, "V0210.010.011.010");
		imp_version_sort_key("007", k1, sizeof k1);
		CHECK_STR(k1, "017");
	}

	/* file names and their MD5 prefix */
	CHECK(imp_filename_from_link("https://bigota.d.miui.com/7.3.23/miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip",
				     out, sizeof out));
	CHECK_STR(out, "miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip");
	CHECK(imp_filename_from_link("https://host/a/b.zip?x=1", out, sizeof out));
	CHECK_STR(out, "b.zip");
	CHECK(!imp_filename_from_link("ftp://host/b.zip", out, sizeof out));
	CHECK(!imp_filename_from_link("https://host/", out, sizeof out));
	CHECK(!imp_filename_from_link("https://b.zip", out, sizeof out));
	CHECK(!imp_filename_from_link(NULL, out, sizeof out));
	CHECK(!imp_filename_from_link("https://x/a/b.zip?x=a b", out, sizeof out));
	CHECK(!imp_filename_from_link("https://x/a b/c.zip", out, sizeof out));
	CHECK(imp_filename_md5_prefix("miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip", prefix));
	CHECK_STR(prefix, "ebbdfeed27");
	CHECK(imp_filename_md5_prefix("bixi-ota_full-OS2.0.104.0.VOHCNXM-user-15.0-4f80f763e9.zip", prefix));
	CHECK_STR(prefix, "4f80f763e9");
	CHECK(imp_filename_md5_prefix("cancro_images_V10.1.1.0.MXDCNFI_20181010.0000.00_6.0_cn_911b6abc33.tgz",
				      prefix));
	CHECK_STR(prefix, "911b6abc33");
	CHECK(!imp_filename_md5_prefix("miui_HM2_JHACNBH22.0_4.2.zip", prefix));

	/* Android versions and incremental OTAs in file names */
	{
		char android[16], from[65], to[65];

		CHECK(imp_filename_android("miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip", android, sizeof android));
		CHECK_STR(android, "6.0");
		CHECK(imp_filename_android("bixi-ota_full-OS2.0.104.0.VOHCNXM-user-15.0-4f80f763e9.zip", android,
					   sizeof android));
		CHECK_STR(android, "15.0");
		CHECK(imp_filename_android("cancro_images_7.3.23_20170323.0000.00_6.0_cn_702eb114c6.tgz", android,
					   sizeof android));
		CHECK_STR(android, "6.0");
		CHECK(imp_filename_android("miui_BABYLON_OS1.0.23.11.19.DEV_ae432b65d8_14.0.zip", android,
					   sizeof android));
		CHECK_STR(android, "14.0");
		CHECK(!imp_filename_android("44edb6fd7214022224e0a6ba8eb8a067362c0fe7.zip", android, sizeof android));

		CHECK(imp_incremental_versions(
			"miui-blockota-apollo-V12.0.8.0.QJDCNXM-V12.0.10.0.QJDCNXM-d156e09864-10.0.zip", from, to,
			sizeof from));
		CHECK_STR(from, "V12.0.8.0.QJDCNXM");
		CHECK_STR(to, "V12.0.10.0.QJDCNXM");
		CHECK(imp_incremental_versions(
			"dada-ota_incremental-OS2.0.16.0.VOCCNXM-OS2.0.17.0.VOCCNXM-user-15.0-e10c4e07a3.zip", from, to,
			sizeof from));
		CHECK_STR(from, "OS2.0.16.0.VOCCNXM");
		CHECK_STR(to, "OS2.0.17.0.VOCCNXM");
		CHECK(imp_incremental_versions("miui-ota-cancro_lte_ct-8.4.26-8.4.28-d91f670e94-6.0.zip", from, to,
					       sizeof from));
		CHECK_STR(from, "8.4.26");
		CHECK_STR(to, "8.4.28");
		CHECK(!imp_incremental_versions("update.zip", from, to, sizeof from));
	}

	/* regions in fastboot file names, and regional codenames */
	CHECK_INT(dom_region_from_filename("cancro_global_images_7.3.23_20170323.0000.00_6.0_global_2b8705311b.tgz"),
		  DOM_REGION_GLOBAL);
	CHECK_INT(dom_region_from_filename("apollo_images_V12.0.10.0.QJDCNXM_20210109.0000.00_10.0_cn_36065507dd.tgz"),
		  DOM_REGION_CN);
	CHECK_INT(dom_region_from_filename("x_eea_global_images_V1_20210708.0000.00_11.0_eea_0123456789.tgz"),
		  DOM_REGION_EEA);
	CHECK_INT(dom_region_from_filename("x_images_V1_20150723.0000.6_4.4_cn_chinatelecom_436f8bf505.tgz"),
		  DOM_REGION_CN);
	CHECK_INT(dom_region_from_filename("tissot_images_V.9.5.10.0.ODHMIFA_20180405.0000.00_8.0_b9e697ed56.tgz"),
		  DOM_REGION__MAX);
	CHECK_INT(dom_region_from_filename("miui_MI3WMI4WGlobal_7.3.23_ebbdfeed27_6.0.zip"), DOM_REGION__MAX);
	{
		char codename[96];

		dom_variant_codename("cancro", DOM_REGION_GLOBAL, codename, sizeof codename);
		CHECK_STR(codename, "cancro_global");
		dom_variant_codename("cancro", DOM_REGION_CN, codename, sizeof codename);
		CHECK_STR(codename, "cancro");
		dom_variant_codename("alioth", DOM_REGION_EEA, codename, sizeof codename);
		CHECK_STR(codename, "alioth_eea_global");
	}

	CHECK_DONE();
}
