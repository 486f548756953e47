/* Input readers of the import pipeline: each turns one file format into cards. */
#ifndef IMP_READERS_H
#define IMP_READERS_H

#include <stdbool.h>
#include <stddef.h>

#include "import.h"

/* XFU's YAML exports: latest.yml (a list of ROM entries) or devices.yml (a mapping
 * of variant codename to [display name, MIUI name]); told apart by shape. */
bool imp_read_xfu_yaml(const char *path, struct imp_sink *sink, char *err, size_t errlen);

/* A download page of the XFU site (.md or .html): YAML front matter, then HTML with
 * one card per package, read by its labels whatever the layout. */
bool imp_read_page(const char *path, struct imp_sink *sink, char *err, size_t errlen);

#endif
