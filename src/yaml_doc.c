/* Reading YAML within limits, shared by the configuration and the importer. */
#include "yaml_doc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Line and column (1-based) of a byte offset in a file or a string. */
static void
yaml__position(const struct yaml_doc_reader *r, size_t offset, size_t *line, size_t *column)
{
	FILE *f = r->file != NULL ? fopen(r->path, "rb") : NULL;
	int c;

	*line = 1;
	*column = 1;
	if (r->file != NULL && f == NULL)
		return;
	for (size_t i = 0; i < offset; i++) {
		if (f != NULL)
			c = getc(f);
		else
			c = i < r->text_len ? (unsigned char)r->text[i] : EOF;
		if (c == EOF)
			break;
		if (c == '\n') {
			(*line)++;
			*column = 1;
		} else if ((c & 0xc0) != 0x80) {
			(*column)++; /* count characters, not continuation bytes */
		}
	}
	if (f != NULL)
		fclose(f);
}

/* Formats the parser's error. Encoding errors carry a byte offset instead of a
 * position: the input is read again to turn it into line and column. */
static void
yaml__error(const struct yaml_doc_reader *r, char *err, size_t errlen)
{
	const yaml_parser_t *parser = &r->parser;
	const char *problem = parser->problem ? parser->problem : "invalid YAML";
	size_t line, column;

	if (parser->error == YAML_MEMORY_ERROR) {
		snprintf(err, errlen, "%s: out of memory while reading YAML", r->path);
		return;
	}
	if (parser->error == YAML_READER_ERROR) {
		yaml__position(r, parser->problem_offset, &line, &column);
		snprintf(err, errlen, "%s:%zu:%zu: %s%s (byte 0x%02x): the file must be UTF-8", r->path,
			 line + r->line_offset, column, r->what, problem, (unsigned)parser->problem_value & 0xff);
		return;
	}
	snprintf(err, errlen, "%s:%zu:%zu: %s%s%s%s", r->path, parser->problem_mark.line + 1 + r->line_offset,
		 parser->problem_mark.column + 1, r->what, problem, parser->context ? " " : "",
		 parser->context ? parser->context : "");
}

bool
yaml_doc_open_file(struct yaml_doc_reader *r, const char *path, long max_bytes, char *err, size_t errlen)
{
	struct stat st;

	memset(r, 0, sizeof *r);
	r->path = path;
	r->what = "";
	if ((r->file = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fileno(r->file), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: not a regular file", path);
		goto fail;
	}
	if (st.st_size > max_bytes) {
		snprintf(err, errlen, "%s: %lld bytes, larger than the limit of %ld bytes for a YAML file", path,
			 (long long)st.st_size, max_bytes);
		goto fail;
	}
	if (!yaml_parser_initialize(&r->parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	yaml_parser_set_input_file(&r->parser, r->file);
	return true;
fail:
	fclose(r->file);
	r->file = NULL;
	return false;
}

bool
yaml_doc_open_string(struct yaml_doc_reader *r, const char *path, const char *text, size_t len,
		     unsigned long line_offset, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	r->path = path;
	r->text = text;
	r->text_len = len;
	r->line_offset = line_offset;
	r->what = "";
	if (!yaml_parser_initialize(&r->parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		return false;
	}
	yaml_parser_set_input_string(&r->parser, (const unsigned char *)text, len);
	return true;
}

bool
yaml_doc_next(struct yaml_doc_reader *r, yaml_event_t *ev, char *err, size_t errlen)
{
	if (!yaml_parser_parse(&r->parser, ev)) {
		yaml__error(r, err, errlen);
		return false;
	}
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (++r->depth > YAML_DOC_MAX_DEPTH) {
			snprintf(err, errlen, "%s:%zu:%zu: %snested deeper than %d levels (the limit for YAML)",
				 r->path, ev->start_mark.line + 1 + r->line_offset, ev->start_mark.column + 1, r->what,
				 YAML_DOC_MAX_DEPTH);
			yaml_event_delete(ev);
			return false;
		}
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: r->depth--; break;
	case YAML_ALIAS_EVENT:
		snprintf(err, errlen, "%s:%zu:%zu: %saliases (*name) are not supported", r->path,
			 ev->start_mark.line + 1 + r->line_offset, ev->start_mark.column + 1, r->what);
		yaml_event_delete(ev);
		return false;
	default: break;
	}
	return true;
}

void
yaml_doc_close(struct yaml_doc_reader *r)
{
	yaml_parser_delete(&r->parser);
	if (r->file != NULL)
		fclose(r->file);
	r->file = NULL;
}

bool
yaml_doc_load(const char *path, long max_bytes, yaml_document_t *doc, char *err, size_t errlen)
{
	struct yaml_doc_reader r;
	yaml_event_t ev;
	bool ok = true, done = false;

	/* first the events alone, within the limits; then the document */
	if (!yaml_doc_open_file(&r, path, max_bytes, err, errlen))
		return false;
	while (ok && !done) {
		ok = yaml_doc_next(&r, &ev, err, errlen);
		if (ok) {
			done = ev.type == YAML_STREAM_END_EVENT;
			yaml_event_delete(&ev);
		}
	}
	if (ok) {
		yaml_parser_delete(&r.parser);
		rewind(r.file);
		if (!yaml_parser_initialize(&r.parser)) {
			snprintf(err, errlen, "%s: out of memory", path);
			fclose(r.file);
			return false;
		}
		yaml_parser_set_input_file(&r.parser, r.file);
		ok = yaml_parser_load(&r.parser, doc);
		if (!ok)
			yaml__error(&r, err, errlen);
	}
	yaml_doc_close(&r);
	return ok;
}
