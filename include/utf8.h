/* UTF-8 validation, for request input and for input files alike. */
#ifndef UTF8_H
#define UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or code
 * points beyond U+10FFFF). When false and bad is not NULL, *bad is the offset of
 * the first byte of the offending sequence. */
bool utf8_valid(const char *s, size_t len, size_t *bad);

/* Characters (code points) of a NUL-terminated UTF-8 text already known to be valid. */
size_t utf8_chars(const char *s);
/* Whether s holds a C0 control character or DEL (what a one-line text field must not). */
bool utf8_has_control(const char *s);

#endif
