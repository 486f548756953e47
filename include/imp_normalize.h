/* Normalisation of raw card fields: sizes, MD5s, dates, branches, versions, regions. */
#ifndef IMP_NORMALIZE_H
#define IMP_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "domain.h"
#include "import.h"
#include "version.h"

/* "1.3 GB" -> 1300000000, decimal units as the site shows them ("Bytes", "KB",
 * "MB", "GB", "TB"). False when the text is not a size. */
bool imp_parse_size(const char *text, long long *bytes);
/* True for "Unknown" or an empty value (*md5 = NULL) and for 32 hex digits
 * (*md5 = lower-case copy in out[33]); false for anything else. */
bool imp_parse_md5(const char *text, char out[33], const char **md5);
/* True for "None"/empty (*date = NULL) or a real YYYY-MM-DD date. */
bool imp_parse_date(const char *text, const char **date);
/* "Stable Beta" -> stable-beta, case-insensitive; __MAX when unknown. */
enum dom_branch imp_branch_from_site(const char *text);
enum dom_type imp_type_from_site(const char *text);
/* True for an Android version such as "6.0" or "15". */
bool imp_android_valid(const char *text);
/* Natural sort key: each digit run becomes its two-digit length and its digits
 * without leading zeros, so that "V12" sorts after "V9". out holds 3 * len + 1. */
void imp_version_sort_key(const char *version, char *out, size_t outlen);
/* The file name of a download link (its last path segment); false when none. */
bool imp_filename_from_link(const char *link, char *out, size_t outlen);
/* The 10 hex digits of an MD5 prefix embedded in a package file name, or false. */
bool imp_filename_md5_prefix(const char *filename, char out[11]);
/* The size below which a package cannot be a ROM (error pages are a few hundred bytes). The
 * database's column offerable (sql/008) draws the same line; e2e.client_api checks they agree. */
#define IMP_MIN_PLAUSIBLE_SIZE 1000000LL

/* The Android version written in a package file name ("..._6.0.zip", "-user-15.0-..."). */
bool imp_filename_android(const char *filename, char *out, size_t outlen);
/* From- and to-versions of an incremental OTA file name
 * ("miui-blockota-apollo-V12.0.8.0.QJDCNXM-V12.0.10.0.QJDCNXM-d156e09864-10.0.zip"). */
bool imp_incremental_versions(const char *filename, char *from, char *to, size_t len);

/* A card after checks and normalisation: what the pipeline stages. */
struct imp_row {
	const char *file;
	unsigned long line;
	char device[65];        /* base codename */
	char variant[96];       /* the variant codename, "" when it is to be resolved by name */
	char synth_variant[96]; /* the variant to create when no known variant has the name */
	enum dom_region variant_region;
	const char *display_name;
	char filename[256];
	/* what the file name says of its variant: "<variant>_images_...", "<variant>-ota_full-...",
	 * or the MIUI name of "miui_<MIUI name>_..."; "" when it says nothing */
	char filename_variant[96], filename_miui[96];
	const char *version;
	char version_sort[256];
	struct ver ver;
	enum dom_branch branch;
	enum dom_type type;
	enum dom_region region, region_by_name, region_by_version, region_by_filename;
	const char *android;
	char android_buf[16];
	long long size; /* -1: unknown */
	char md5[33];   /* "": unknown */
	const char *date;
	const char *changelog;
	const char *links[IMP_MAX_LINKS];
	size_t nlinks;
	const char *incremental_url;
	char incremental_filename[256], incremental_from[65], incremental_to[65];
	unsigned warnings; /* 1u << enum imp_warning */
	char warning_text[IMP_WARN__MAX][160];
	/* when imp_normalize refuses the card: the card field at fault ("version", "links",
	 * "name", ...; see imp__reject), NULL when no one field is */
	const char *reject_field;
};

/* Checks and normalises a card. Returns false, with "file:line: what" in err, for a
 * card that cannot be a release (no codename, version, branch, type or file name);
 * data problems become warnings in row. */
bool imp_normalize(const struct imp_card *card, struct imp_row *row, char *err, size_t errlen);

#endif
