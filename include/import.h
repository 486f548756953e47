/* `romtrack import`: readers turn input files into cards; one pipeline normalises,
 * stages and merges them into the database in a single transaction. */
#ifndef IMPORT_H
#define IMPORT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Download links kept per package (the full ROM and its mirrors): the archive's cards have
 * at most 7 buttons; an input with more is refused with its line, never cut short in silence. */
#define IMP_MAX_LINKS 32

/* Fields of a card, as bits of imp_card.given: the fields an input gives explicitly (a
 * JSON member present, null included). Under imp_options.authoritative they are final. */
enum imp_field {
	IMP_FIELD_VARIANT,
	IMP_FIELD_NAMES,
	IMP_FIELD_BRANCH,
	IMP_FIELD_ANDROID,
	IMP_FIELD_SIZE,
	IMP_FIELD_MD5,
	IMP_FIELD_DATE,
	IMP_FIELD_CHANGELOG,
	IMP_FIELD_LINKS,
	IMP_FIELD_INCREMENTAL,
	IMP_FIELD__MAX
};

/* One package as an input lists it: raw strings, NULL when absent. */
struct imp_card {
	const char *file;
	unsigned long line;  /* 0 for a JSON input: pointer says where */
	const char *pointer; /* a JSON input's release ("/data/3"), else NULL */
	unsigned given;      /* 1u << enum imp_field: given explicitly, even as null */
	bool has_size_bytes; /* a typed size (JSON): size_bytes is used, size ignored */
	long long size_bytes;
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

/* One input of a run: a file, or bytes held in memory (an HTTP body). */
enum imp_format {
	IMP_FORMAT_XFU_YAML, /* latest.yml, devices.yml, a dump of romtrack export --all */
	IMP_FORMAT_PAGE,     /* an XFU download page (.md, .html) */
	IMP_FORMAT_JSON,     /* releases in the API's shape (see imp_read_json) */
	IMP_FORMAT__MAX
};

struct imp_input {
	const char *name; /* named in errors and warnings: a path, or e.g. "body" */
	enum imp_format format;
	const char *data; /* NULL: read the file name (YAML files are streamed) */
	size_t len;
};

/* The format of a media type ("text/markdown", "text/html", "application/yaml",
 * "application/json"; parameters such as "; charset=utf-8" ignored); false for another. */
bool imp_format_from_media_type(const char *media_type, enum imp_format *format);
/* The format a file name's extension says (.yml/.yaml, .md/.html/.htm, .json). */
bool imp_format_from_path(const char *path, enum imp_format *format);

/* Why a run failed: the input (every error listed; HTTP 422), the input is not JSON at all
 * (one error with line and column; HTTP 400), or something else (the database: HTTP 5xx). */
enum imp_fault { IMP_FAULT_NONE, IMP_FAULT_INPUT, IMP_FAULT_SYNTAX, IMP_FAULT_INTERNAL };

/* One thing wrong with an input. A JSON input's errors have a JSON pointer (RFC 6901:
 * "/data/3/md5", "" for the whole document); a file's have its line (0 when unknown). */
struct imp_error {
	char *input;                /* the input's name; NULL for an error of no input (the database) */
	char *pointer;              /* NULL for inputs other than JSON */
	unsigned long line, column; /* 0 when unknown */
	char *detail;               /* what is wrong, without the place */
};

struct imp_errors {
	enum imp_fault fault;
	struct imp_error *items;
	size_t n, cap;
};

/* Adds an error; pointer NULL for none, line and column 0 when unknown. */
void imp_errors_add(struct imp_errors *errs, enum imp_fault fault, const char *input, const char *pointer,
		    unsigned long line, unsigned long column, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* Adds an error from a reader's message "input:line[:column]: detail" (or any other text). */
void imp_errors_add_message(struct imp_errors *errs, enum imp_fault fault, const char *input, const char *message);
/* "input: /data/3/md5: detail", "input:12:5: detail" or "detail", for the CLI. */
void imp_error_format(const struct imp_error *e, char *out, size_t outlen);
/* [{"pointer": "/data/3/md5", "detail": "..."}...]: the errors of a 422 (RFC 9457 extension
 * member); errors without a pointer get "line" (and "column") when known. */
json_t *imp_errors_json(const struct imp_errors *errs);
void imp_errors_free(struct imp_errors *errs);

/* One field of an existing release that an import changed. */
struct imp_change {
	char *filename, *field, *old_value, *new_value; /* values NULL when SQL NULL */
};

/* A release an import created. */
struct imp_inserted {
	long long id; /* the new row's id (of a transaction rolled back by dry_run) */
	char *filename;
};

/* A data check a card failed (where, which, and what it says). */
struct imp_warned {
	char *input;
	unsigned long line; /* 0 for a JSON input */
	char *pointer;      /* a JSON input's release, else NULL */
	char *filename;
	enum imp_warning kind;
	char *detail;
};

struct imp_summary {
	size_t files, cards, variants_read;
	size_t releases, inserted, updated, unchanged;
	size_t warnings[IMP_WARN__MAX]; /* per kind: cards, and packages for conflicting-copies */
	struct imp_change *changes;
	size_t nchanges;
	struct imp_inserted *inserted_list; /* ninserted == inserted, in file name order */
	size_t ninserted;
	struct imp_warned *warned; /* every card's failed checks, in input order */
	size_t nwarned, warned_cap;
};

struct imp_options {
	bool dry_run;  /* roll back instead of committing */
	bool verbose;  /* print every warning */
	bool progress; /* a progress bar on a terminal, progress lines otherwise (stderr) */
	/* A maintainer's correction: for every field an input gives, the final value is the
	 * input's, without the import's rules (a known value kept over an unknown one, Stable
	 * never demoted, the longest list of mirrors, warnings adding up, the variant moved only
	 * on stronger evidence). Fields it does not give keep their stored values. */
	bool authoritative;
	/* Who and how, set in the transaction for the audit triggers (romtrack.actor, .via,
	 * .request_id, .reason); NULL is ''. The CLI: "cli:<user>", "romtrack import". */
	const char *actor, *via, *request_id, *reason;
};

/* Reads every input in the order given (later inputs win over earlier ones), then merges
 * in one transaction: all or nothing. On failure returns false with errs filled: every
 * error of a JSON input, the first of any other, and errs->fault saying whose fault. */
bool imp_run_inputs(PGconn *conn, const struct imp_input *inputs, size_t ninputs, const struct imp_options *opt,
		    struct imp_summary *sum, struct imp_errors *errs);
/* imp_run_inputs over files (directories recursively: .md, .html, .yml, .yaml, .json), read
 * in the order given, directories in name order. */
bool imp_run(PGconn *conn, const char *const *paths, size_t npaths, const struct imp_options *opt,
	     struct imp_summary *sum, struct imp_errors *errs);
/* The import report (what romtrack import --json prints and the API answers): counts,
 * warnings by kind and each warning, each change, and the releases inserted. */
json_t *imp_summary_json(const struct imp_summary *sum, const struct imp_options *opt);
void imp_summary_free(struct imp_summary *sum);
/* Reads and checks files without a database; prints every normalised card as one
 * JSON object per line on out. */
bool imp_check(const char *const *paths, size_t npaths, FILE *out, struct imp_summary *sum, char *err, size_t errlen);
const char *imp_warning_name(enum imp_warning w);

#endif
