/* libyaml parse errors as "file:line:column: problem", for configuration and data files alike. */
#ifndef YAML_ERROR_H
#define YAML_ERROR_H

#include <stddef.h>
#include <yaml.h>

/* Formats the parser's error. Encoding errors (invalid UTF-8) carry a byte offset
 * instead of a position: the file is re-read to turn it into line and column. */
void yaml_error_format(const yaml_parser_t *parser, const char *path, char *err, size_t errlen);

#endif
