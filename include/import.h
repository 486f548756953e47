/* `romtrack import`: readers turn input files into cards; one pipeline normalises,
 * stages and merges them into the database in a single transaction. */
#ifndef IMPORT_H
#define IMPORT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define IMP_MAX_LINKS 8

/* One package as an input lists it: raw strings, NULL when absent. */
struct imp_card {
	const char *file;
	unsigned long line;
	const char *codename; /* the variant codename the card names */
	const char *name;     /* display name */
	const char *version;
	const char *branch;   /* as the site writes it: "Stable Beta" */
	const char *type;     /* "Recovery" / "Fastboot" */
	const char *android;
	const char *size;     /* "1.3 GB" */
	const char *md5;      /* or "Unknown" */
	const char *date;     /* YYYY-MM-DD, or "None" */
	const char *changelog;
	const char *links[IMP_MAX_LINKS];
	size_t nlinks;
};

/* A variant and one of its names, as devices.yml lists them. */
struct imp_variant {
	const char *file;
	unsigned long line;
	const char *codename;
	const char *name;
	const char *miui_name;
};

enum imp_warning {
	IMP_WARN_SIZE_UNPARSED,
	IMP_WARN_SIZE_IMPLAUSIBLE,
	IMP_WARN_MD5_INVALID,
	IMP_WARN_MD5_MISMATCH,
	IMP_WARN_DATE_INVALID,
	IMP_WARN_ANDROID_INVALID,
	IMP_WARN_REGION_MISMATCH,
	IMP_WARN__MAX
};

/* Where readers deliver what they read. Each call returns false with err set
 * ("file:line: what") to stop the run. */
struct imp_sink {
	bool (*card)(struct imp_sink *sink, const struct imp_card *card, char *err, size_t errlen);
	bool (*variant)(struct imp_sink *sink, const struct imp_variant *v, char *err, size_t errlen);
};

struct imp_summary {
	size_t files, cards, variants_read;
	size_t releases, inserted, updated, unchanged;
	size_t warnings[IMP_WARN__MAX];
};

struct imp_options {
	bool dry_run; /* roll back instead of committing */
	bool verbose; /* print every warning */
};

/* Reads every file, then merges in one transaction: all or nothing. */
bool imp_run(PGconn *conn, const char *const *files, size_t nfiles, const struct imp_options *opt,
	     struct imp_summary *sum, char *err, size_t errlen);
const char *imp_warning_name(enum imp_warning w);

#endif
