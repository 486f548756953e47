/* Input readers of the import pipeline: each turns one file format into cards. */
#ifndef IMP_READERS_H
#define IMP_READERS_H

#include <stdbool.h>
#include <stddef.h>

#include "import.h"

/* Each reader reads bytes in memory (name is what errors say: a path, "body"); the file
 * variant is the same reader over a file's contents. Errors: "name:line[:column]: what". */

/* XFU's YAML exports: latest.yml (a list of ROM entries) or devices.yml (a mapping
 * of variant codename to [display name, MIUI name]); told apart by shape. The file is
 * streamed (memory holds one entry). */
bool imp_read_xfu_yaml_buffer(const char *name, const char *data, size_t len, struct imp_sink *sink, char *err,
			      size_t errlen);
bool imp_read_xfu_yaml(const char *path, struct imp_sink *sink, char *err, size_t errlen);

/* A download page of the XFU site (.md or .html): YAML front matter, then HTML with
 * one card per package, read by its labels whatever the layout. */
bool imp_read_page_buffer(const char *name, const char *data, size_t len, struct imp_sink *sink, char *err,
			  size_t errlen);
bool imp_read_page(const char *path, struct imp_sink *sink, char *err, size_t errlen);

/* The largest JSON input: 1,000 releases in the API's shape are about 3 MB. */
#define IMP_JSON_MAX_BYTES ((size_t)64 * 1024 * 1024)
#define IMP_JSON_MAX_RELEASES 1000

/* Releases in the shape the API's reads return, without id, region and warnings (romtrack
 * derives them): one release object, or {"data": [...]} with 1 to IMP_JSON_MAX_RELEASES.
 * Members (unknown ones are errors):
 *   required: version, branch (stable, stable-beta, weekly, public-beta; the site's words
 *     too), type (recovery, fastboot), links (1 to IMP_MAX_LINKS URLs, the first the full
 *     ROM), names (1 or more display names), and codename (the device) or variant (its
 *     variant codename), or both when they agree;
 *   optional, null when unknown: android ("6.0"), size (bytes, an integer), md5 (32 hex
 *     digits), date (YYYY-MM-DD), changelog, incremental ({"url": ..., with filename, from,
 *     to as reads give them, which must agree with the URL}), filename (default: the last
 *     segment of the first link; it must be a file name).
 * Every release becomes a card per name, checked with imp_normalize as any other card.
 * Every error of the document is added to errs with its JSON pointer (fault INPUT), or,
 * for text that is not JSON, one error with its line and column (fault SYNTAX); then
 * nothing reaches the sink. */
bool imp_read_json(const char *name, const char *data, size_t len, struct imp_sink *sink, struct imp_errors *errs);

#endif
