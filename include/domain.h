/* The enumerations of the ROM domain (regions, branches, package types) and their spellings. */
#ifndef DOMAIN_H
#define DOMAIN_H

#include <stddef.h>

enum dom_region {
	DOM_REGION_CN,
	DOM_REGION_GLOBAL,
	DOM_REGION_EEA,
	DOM_REGION_IN,
	DOM_REGION_ID,
	DOM_REGION_RU,
	DOM_REGION_TR,
	DOM_REGION_TW,
	DOM_REGION_JP,
	DOM_REGION_KR,
	DOM_REGION_SG,
	DOM_REGION_OTHER,
	DOM_REGION__MAX
};

enum dom_branch {
	DOM_BRANCH_STABLE,
	DOM_BRANCH_STABLE_BETA,
	DOM_BRANCH_WEEKLY,
	DOM_BRANCH_PUBLIC_BETA,
	DOM_BRANCH__MAX
};

enum dom_type { DOM_TYPE_RECOVERY, DOM_TYPE_FASTBOOT, DOM_TYPE__MAX };

/* API spellings ("stable-beta"); these are also the PostgreSQL enum labels. */
const char *dom_region_name(enum dom_region r);
const char *dom_branch_name(enum dom_branch b);
const char *dom_type_name(enum dom_type t);
/* Names for people: "South Korea", "Stable Beta", "Fastboot". */
const char *dom_region_title(enum dom_region r);
const char *dom_branch_title(enum dom_branch b);
/* Exact API spelling to enum; __MAX when unknown. */
enum dom_region dom_region_parse(const char *s);
enum dom_branch dom_branch_parse(const char *s);
enum dom_type dom_type_parse(const char *s);
/* "cn, global, ..." for error messages. */
const char *dom_region_list(void);
const char *dom_branch_list(void);
const char *dom_type_list(void);

/* Region of a display name's last words ("POCO F3 Global" -> global); __MAX if none. */
enum dom_region dom_region_from_name(const char *display_name);
/* The length of a display name without those words ("Redmi K40 China" -> 9), the whole length if none. */
size_t dom_name_without_region(const char *display_name);
/* Region code of a MIUI/HyperOS version ("V12.5.3.0.RKHMIXM" -> global); __MAX if none. */
enum dom_region dom_region_from_version(const char *version);
/* Splits a variant codename into base and region by its suffix ("alioth_eea_global"
 * -> "alioth", eea). No known suffix: the codename is the base and the region is cn.
 * base must hold strlen(codename) + 1 bytes. */
enum dom_region dom_variant_split(const char *codename, char *base);

/* The codename of the base's variant for a region, as XFU names them: "alioth" (cn),
 * "alioth_global", "alioth_eea_global", "alioth_in_global"... out holds 96 bytes. */
void dom_variant_codename(const char *base, enum dom_region region, char *out, size_t outlen);
/* Region named by a fastboot package's file name ("..._6.0_eea_global_0123456789.tgz"),
 * or __MAX when the name does not say. */
enum dom_region dom_region_from_filename(const char *filename);

#endif
