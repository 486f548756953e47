/* One way to load YAML files, shared by the configuration and the importer. */
#include "yaml_doc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Line and column (1-based) of a byte offset in a file. */
static void
yaml__position(const char *path, size_t offset, size_t *line, size_t *column)
{
	FILE *f = fopen(path, "rb");
	int c;

	*line = 1;
	*column = 1;
	if (f == NULL)
		return;
	for (size_t i = 0; i < offset && (c = getc(f)) != EOF; i++) {
		if (c == '\n') {
			(*line)++;
			*column = 1;
		} else if ((c & 0xc0) != 0x80) {
			(*column)++; /* count characters, not continuation bytes */
		}
	}
	fclose(f);
}

/* Formats the parser's error. Encoding errors carry a byte offset instead of a
 * position: the file is read again to turn it into line and column. */
static void
yaml__error(const yaml_parser_t *parser, const char *path, char *err, size_t errlen)
{
	const char *problem = parser->problem ? parser->problem : "invalid YAML";
	size_t line, column;

	if (parser->error == YAML_READER_ERROR) {
		yaml__position(path, parser->problem_offset, &line, &column);
		snprintf(err, errlen, "%s:%zu:%zu: %s (byte 0x%02x): the file must be UTF-8", path, line, column,
			 problem, (unsigned)parser->problem_value & 0xff);
		return;
	}
	snprintf(err, errlen, "%s:%zu:%zu: %s%s%s", path, parser->problem_mark.line + 1,
		 parser->problem_mark.column + 1, problem, parser->context ? " " : "",
		 parser->context ? parser->context : "");
}

bool
yaml_doc_load(const char *path, yaml_document_t *doc, char *err, size_t errlen)
{
	yaml_parser_t parser;
	bool ok;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return false;
	}
	yaml_parser_set_input_file(&parser, f);
	ok = yaml_parser_load(&parser, doc);
	if (!ok)
		yaml__error(&parser, path, err, errlen);
	yaml_parser_delete(&parser);
	fclose(f);
	return ok;
}
