/* `romtrack export`: releases written back out in the shape of XFU's latest.yml. */
#ifndef EXPORT_H
#define EXPORT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum exp_format { EXP_YAML, EXP_JSON };

/* Writes one entry per release and display name, with XFU's fields (android, branch,
 * codename, date, link, md5, method, name, size, version). Without all, only the newest
 * release of each variant, branch and type (as latest.yml has it); with all, every
 * release, plus the fields romtrack's importer reads back (changelog, mirrors,
 * incremental), so that a dump can be imported elsewhere. */
bool exp_run(PGconn *conn, enum exp_format format, bool all, FILE *out, char *err, size_t errlen);

/* A size as the site writes it: "1.3 GB", "846.8 MB", "484 Bytes". */
void exp_format_size(long long bytes, char *out, size_t outlen);

#endif
