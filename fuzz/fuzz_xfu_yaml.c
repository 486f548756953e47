/* Fuzzes the reader of XFU's YAML exports (imp_xfu_yaml.c) with the normalisation, as `import --check` runs them. */
#include "fuzz.h"

/* latest.yml (a list of ROMs) or devices.yml (a mapping of variants): the reader tells them apart by shape. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_import_check("latest.yml", data, size);
	return 0;
}
