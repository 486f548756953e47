/* Fuzzes the download page reader with the normalisation (imp_page.c, imp_normalize.c), as `import --check` runs them.
 */
#include "fuzz.h"

/* .md and .html pages are read alike: the name only appears in messages. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_import_check("page.md", data, size);
	return 0;
}
