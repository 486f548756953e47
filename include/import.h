/* `romtrack import`: readers turn input files into cards; one pipeline normalises,
 * stages and merges them into the database in a single transaction. */
#ifndef IMPORT_H
#define IMPORT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Download links kept per package (the full ROM and its mirrors): the archive's cards have
 * at most 7 buttons; an input with more is refused with its line, never cut short in silence. */
#define IMP_MAX_LINKS 32

/* One package as an input lists it: raw strings, NULL when absent. */
struct imp_card {
	const char *file;
	unsigned long line;
	const char *codename;  /* the variant codename, or a base codename (see below) */
	bool codename_is_base; /* download pages name the phone, not its regional variant */
	bool codename_made_up; /* a dump's variant that romtrack made up: no input declared it */
	const char *name;      /* display name */
	const char *version;
	const char *branch; /* as the site writes it: "Stable Beta" */
	const char *type;   /* "Recovery" / "Fastboot" */
	const char *android;
	const char *size; /* "1.3 GB" */
	const char *md5;  /* or "Unknown" */
	const char *date; /* YYYY-MM-DD, or "None" */
	const char *changelog;
	const char *filename;             /* the package file name; NULL: the last segment of the first link */
	const char *links[IMP_MAX_LINKS]; /* full ROM, then mirrors, in the page's order */
	size_t nlinks;
	const char *incremental_url; /* an incremental OTA package, when offered */
};

/* A variant and one of its names, as devices.yml lists them. */
struct imp_variant {
	const char *file;
	unsigned long line;
	const char *codename;
	const char *name;
	const char *miui_name;
};

/* Data checks: a failed one is a warning, counted and stored with the release; it
 * never stops a run. */
enum imp_warning {
	IMP_WARN_SIZE_UNPARSED,      /* the size is not "N.N unit" */
	IMP_WARN_SIZE_IMPLAUSIBLE,   /* a few hundred bytes: an error page, not a ROM */
	IMP_WARN_MD5_INVALID,        /* neither 32 hex digits nor "Unknown" */
	IMP_WARN_MD5_MISMATCH,       /* the 10 hex digits in the file name are not the MD5's */
	IMP_WARN_DATE_INVALID,       /* not a YYYY-MM-DD date */
	IMP_WARN_DATE_IMPLAUSIBLE,   /* before 2010 or in the future */
	IMP_WARN_ANDROID_INVALID,    /* the Android field is not a version */
	IMP_WARN_ANDROID_MISMATCH,   /* the field, the file name or the version letter disagree */
	IMP_WARN_REGION_MISMATCH,    /* display name, version code and file name disagree */
	IMP_WARN_VERSION_UNPARSED,   /* the version fits no known grammar (kept as it is) */
	IMP_WARN_LINK_MISMATCH,      /* a download link is not for the package's file name */
	IMP_WARN_CONFLICTING_COPIES, /* copies of the package disagree on a known value */
	IMP_WARN__MAX
};

/* Where readers deliver what they read. Each call returns false with err set
 * ("file:line: what") to stop the run. */
struct imp_sink {
	bool (*card)(struct imp_sink *sink, const struct imp_card *card, char *err, size_t errlen);
	bool (*variant)(struct imp_sink *sink, const struct imp_variant *v, char *err, size_t errlen);
};

/* One field of an existing release that an import changed. */
struct imp_change {
	char *filename, *field, *old_value, *new_value; /* values NULL when SQL NULL */
};

struct imp_summary {
	size_t files, cards, variants_read;
	size_t releases, inserted, updated, unchanged;
	size_t warnings[IMP_WARN__MAX];
	struct imp_change *changes;
	size_t nchanges;
};

struct imp_options {
	bool dry_run;  /* roll back instead of committing */
	bool verbose;  /* print every warning */
	bool progress; /* a progress bar on a terminal, progress lines otherwise (stderr) */
};

/* Reads every file (directories recursively: .md, .html, .yml, .yaml), then merges in
 * one transaction: all or nothing. Paths are read in the order given, directories in
 * name order; later inputs win over earlier ones. */
bool imp_run(PGconn *conn, const char *const *paths, size_t npaths, const struct imp_options *opt,
	     struct imp_summary *sum, char *err, size_t errlen);
void imp_summary_free(struct imp_summary *sum);
/* Reads and checks files without a database; prints every normalised card as one
 * JSON object per line on out. */
bool imp_check(const char *const *paths, size_t npaths, FILE *out, struct imp_summary *sum, char *err, size_t errlen);
const char *imp_warning_name(enum imp_warning w);

#endif
