/* Reading YAML within limits (size, nesting), with errors as "file:line:column: problem". */
#ifndef YAML_DOC_H
#define YAML_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

/* No input of romtrack nests deeper than a few levels. libyaml's cost grows with the square
 * of the depth, so the depth is checked on each event, while parsing, and never grows. */
#define YAML_DOC_MAX_DEPTH 64

/* The largest XFU export or dump read (XFU's latest.yml is 1.2 MB, a dump of the whole
 * archive about 60 MB), as for download pages. */
#define YAML_DOC_MAX_BYTES (256L * 1024 * 1024)

/* A YAML text being read event by event: a file, or a string (a page's front matter). */
struct yaml_doc_reader {
	yaml_parser_t parser;
	FILE *file;       /* NULL for a string */
	const char *path; /* named in errors */
	const char *text; /* the string, for the position of encoding errors */
	size_t text_len;
	unsigned long line_offset; /* added to the lines of errors (front matter after "---") */
	const char *what;          /* "" or a prefix of problems ("front matter: ") */
	int depth;
};

/* Opens path for reading, refusing files larger than max_bytes. */
bool yaml_doc_open_file(struct yaml_doc_reader *r, const char *path, long max_bytes, char *err, size_t errlen);

/* Reads a string; errors name path, with line_offset added to their lines. */
bool yaml_doc_open_string(struct yaml_doc_reader *r, const char *path, const char *text, size_t len,
			  unsigned long line_offset, char *err, size_t errlen);

/* The next event (the caller yaml_event_delete()s it). Fails on a syntax or encoding
 * error, on nesting deeper than YAML_DOC_MAX_DEPTH and on aliases (no input uses them). */
bool yaml_doc_next(struct yaml_doc_reader *r, yaml_event_t *ev, char *err, size_t errlen);

void yaml_doc_close(struct yaml_doc_reader *r);

/* Parses the file at path, at most max_bytes, into doc (the caller yaml_document_delete()s
 * it on success): the events are checked first, so that a document too deep is refused
 * before libyaml builds it. */
bool yaml_doc_load(const char *path, long max_bytes, yaml_document_t *doc, char *err, size_t errlen);

#endif
