/* Spellings of regions, branches and types, and region evidence from names, versions and codenames. */
#include "domain.h"

#include <stdio.h>
#include <string.h>

static const char *const dom__regions[DOM_REGION__MAX] = {
	"cn", "global", "eea", "in", "id", "ru", "tr", "tw", "jp", "kr", "sg", "other",
};
static const char *const dom__branches[DOM_BRANCH__MAX] = {
	"stable",
	"stable-beta",
	"weekly",
	"public-beta",
};
static const char *const dom__types[DOM_TYPE__MAX] = {"recovery", "fastboot"};

/* Last words of display names, as the site writes them. */
static const struct {
	const char *suffix;
	enum dom_region region;
} dom__name_regions[] = {
	{" China", DOM_REGION_CN},       {" Global", DOM_REGION_GLOBAL}, {" EEA", DOM_REGION_EEA},
	{" India", DOM_REGION_IN},       {" Indonesia", DOM_REGION_ID},  {" Russia", DOM_REGION_RU},
	{" Turkey", DOM_REGION_TR},      {" Taiwan", DOM_REGION_TW},     {" Japan", DOM_REGION_JP},
	{" South Korea", DOM_REGION_KR}, {" Singapore", DOM_REGION_SG},
};

/* Two-letter region codes inside MIUI/HyperOS versions. */
static const struct {
	char code[3];
	enum dom_region region;
} dom__version_regions[] = {
	{"CN", DOM_REGION_CN}, {"MI", DOM_REGION_GLOBAL}, {"EU", DOM_REGION_EEA}, {"IN", DOM_REGION_IN},
	{"RU", DOM_REGION_RU}, {"ID", DOM_REGION_ID},     {"TR", DOM_REGION_TR},  {"TW", DOM_REGION_TW},
	{"JP", DOM_REGION_JP}, {"KR", DOM_REGION_KR},
};

/* Codename suffixes of regional and carrier variants, longest first so that
 * "_eea_global" wins over "_global". */
static const struct {
	const char *suffix;
	enum dom_region region;
} dom__codename_suffixes[] = {
	{"_in_rf_global", DOM_REGION_IN}, {"_in_fk_global", DOM_REGION_IN}, {"_india_global", DOM_REGION_IN},
	{"_eea_global", DOM_REGION_EEA},  {"_in_global", DOM_REGION_IN},    {"_id_global", DOM_REGION_ID},
	{"_ru_global", DOM_REGION_RU},    {"_tr_global", DOM_REGION_TR},    {"_tw_global", DOM_REGION_TW},
	{"_jp_global", DOM_REGION_JP},    {"_kr_global", DOM_REGION_KR},    {"_sg_global", DOM_REGION_SG},
	{"_global", DOM_REGION_GLOBAL},   {"_lte_ct", DOM_REGION_CN},
};

#define DOM__COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const dom__region_titles[DOM_REGION__MAX] = {
	"China",  "Global", "EEA",   "India",       "Indonesia", "Russia",
	"Turkey", "Taiwan", "Japan", "South Korea", "Singapore", "Other",
};
static const char *const dom__branch_titles[DOM_BRANCH__MAX] = {
	"Stable",
	"Stable Beta",
	"Weekly",
	"Public Beta",
};

const char *
dom_region_title(enum dom_region r)
{
	return r < DOM_REGION__MAX ? dom__region_titles[r] : "Other";
}
const char *
dom_branch_title(enum dom_branch b)
{
	return b < DOM_BRANCH__MAX ? dom__branch_titles[b] : NULL;
}

static int
dom__lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return n;
}

const char *
dom_region_name(enum dom_region r)
{
	return r < DOM_REGION__MAX ? dom__regions[r] : "other";
}
const char *
dom_branch_name(enum dom_branch b)
{
	return b < DOM_BRANCH__MAX ? dom__branches[b] : NULL;
}
const char *
dom_type_name(enum dom_type t)
{
	return t < DOM_TYPE__MAX ? dom__types[t] : NULL;
}

enum dom_region
dom_region_parse(const char *s)
{
	return (enum dom_region)dom__lookup(dom__regions, DOM_REGION__MAX, s);
}

enum dom_branch
dom_branch_parse(const char *s)
{
	return (enum dom_branch)dom__lookup(dom__branches, DOM_BRANCH__MAX, s);
}

enum dom_type
dom_type_parse(const char *s)
{
	return (enum dom_type)dom__lookup(dom__types, DOM_TYPE__MAX, s);
}

const char *
dom_region_list(void)
{
	return "cn, global, eea, in, id, ru, tr, tw, jp, kr, sg, other";
}
const char *
dom_branch_list(void)
{
	return "stable, stable-beta, weekly, public-beta";
}
const char *
dom_type_list(void)
{
	return "recovery, fastboot";
}

static int
dom__ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

enum dom_region
dom_region_from_name(const char *display_name)
{
	for (size_t i = 0; i < DOM__COUNT(dom__name_regions); i++)
		if (dom__ends_with(display_name, dom__name_regions[i].suffix))
			return dom__name_regions[i].region;
	return DOM_REGION__MAX;
}

size_t
dom_name_without_region(const char *display_name)
{
	for (size_t i = 0; i < DOM__COUNT(dom__name_regions); i++)
		if (dom__ends_with(display_name, dom__name_regions[i].suffix))
			return strlen(display_name) - strlen(dom__name_regions[i].suffix);
	return strlen(display_name);
}

enum dom_region
dom_region_from_version(const char *version)
{
	/* The last dot-separated part of a stable version is seven capitals:
	 * Android letter, two-letter device code, two-letter region, two-letter suffix. */
	const char *tail = strrchr(version, '.');
	char code[3];

	if (tail == NULL || strlen(tail + 1) != 7)
		return DOM_REGION__MAX;
	tail++;
	for (int i = 0; i < 7; i++)
		if (tail[i] < 'A' || tail[i] > 'Z')
			return DOM_REGION__MAX;
	code[0] = tail[3];
	code[1] = tail[4];
	code[2] = '\0';
	for (size_t i = 0; i < DOM__COUNT(dom__version_regions); i++)
		if (strcmp(code, dom__version_regions[i].code) == 0)
			return dom__version_regions[i].region;
	return DOM_REGION__MAX;
}

enum dom_region
dom_variant_split(const char *codename, char *base)
{
	size_t len = strlen(codename);

	for (size_t i = 0; i < DOM__COUNT(dom__codename_suffixes); i++) {
		size_t slen = strlen(dom__codename_suffixes[i].suffix);

		if (len > slen && dom__ends_with(codename, dom__codename_suffixes[i].suffix)) {
			memcpy(base, codename, len - slen);
			base[len - slen] = '\0';
			return dom__codename_suffixes[i].region;
		}
	}
	memcpy(base, codename, len + 1);
	return DOM_REGION_CN;
}

void
dom_variant_codename(const char *base, enum dom_region region, char *out, size_t outlen)
{
	static const char *const suffixes[DOM_REGION__MAX] = {
		[DOM_REGION_CN] = "",           [DOM_REGION_GLOBAL] = "_global", [DOM_REGION_EEA] = "_eea_global",
		[DOM_REGION_IN] = "_in_global", [DOM_REGION_ID] = "_id_global",  [DOM_REGION_RU] = "_ru_global",
		[DOM_REGION_TR] = "_tr_global", [DOM_REGION_TW] = "_tw_global",  [DOM_REGION_JP] = "_jp_global",
		[DOM_REGION_KR] = "_kr_global", [DOM_REGION_SG] = "_sg_global",  [DOM_REGION_OTHER] = "",
	};

	snprintf(out, outlen, "%s%s", base, region < DOM_REGION__MAX ? suffixes[region] : "");
}

/* Region words of a fastboot file name: the API's own names ("eea", "in"), and
 * carrier builds of China ("cn_chinatelecom", "cn_cmonly"). */
static enum dom_region
dom__region_of_words(const char *words, size_t len)
{
	char buf[16];
	enum dom_region r;

	if (len > 3 && strncmp(words, "cn_", 3) == 0)
		return DOM_REGION_CN;
	if (len >= sizeof buf)
		return DOM_REGION__MAX;
	memcpy(buf, words, len);
	buf[len] = '\0';
	r = dom_region_parse(buf);
	return r == DOM_REGION_OTHER ? DOM_REGION__MAX : r;
}

enum dom_region
dom_region_from_filename(const char *filename)
{
	/* <codename>_images_<version>_<date>_<android>_<region words>_<md5>.tgz */
	const char *end = strstr(filename, ".tgz"), *md5, *android;

	if (end == NULL || strstr(filename, "_images_") == NULL)
		return DOM_REGION__MAX;
	md5 = end;
	while (md5 > filename && md5[-1] != '_')
		md5--;
	/* back from the MD5 to the "_N.N_" token of the Android version */
	for (android = md5 - 1; android > filename; android--) {
		const char *t = android;

		while (t > filename && t[-1] != '_')
			t--;
		if (t[0] >= '0' && t[0] <= '9' && memchr(t, '.', (size_t)(android - t)) != NULL &&
		    strspn(t, "0123456789.") == (size_t)(android - t))
			return md5 - android - 2 > 0 ? dom__region_of_words(android + 1, (size_t)(md5 - android - 2))
						     : DOM_REGION__MAX;
		android = t;
	}
	return DOM_REGION__MAX;
}
