/* Loading a YAML file into a libyaml document, with errors as "file:line:column: problem". */
#ifndef YAML_DOC_H
#define YAML_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

/* Parses the file at path into doc (the caller yaml_document_delete()s it on
 * success). On failure returns false with the position and the problem in err;
 * invalid UTF-8 is reported at its line and column too. */
bool yaml_doc_load(const char *path, yaml_document_t *doc, char *err, size_t errlen);

#endif
