/* Normalisation of raw card fields: sizes, MD5s, dates, branches, versions, regions. */
#ifndef IMP_NORMALIZE_H
#define IMP_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "domain.h"
#include "import.h"

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
/* The size below which a package cannot be a ROM (error pages are a few hundred bytes). */
#define IMP_MIN_PLAUSIBLE_SIZE 1000000LL

#endif
