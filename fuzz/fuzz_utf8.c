/* Fuzzes UTF-8 validation (utf8.c) against an independent decoder of RFC 3629's grammar. */
#include "fuzz.h"

#include "utf8.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t bad = (size_t)-1;
	bool valid = utf8_valid((const char *)data, size, &bad);

	FUZZ_CHECK(valid == fuzz_utf8_valid(data, size));
	FUZZ_CHECK(utf8_valid((const char *)data, size, NULL) == valid);
	if (!valid) {
		/* everything before the offending sequence is valid, the sequence itself is not */
		FUZZ_CHECK(bad < size);
		FUZZ_CHECK(fuzz_utf8_valid(data, bad));
		FUZZ_CHECK(data[bad] >= 0x80);
		for (size_t end = bad + 1; end <= size && end <= bad + 4; end++)
			FUZZ_CHECK(!fuzz_utf8_valid(data + bad, end - bad));
	} else {
		FUZZ_CHECK(bad == (size_t)-1);
	}
	return 0;
}
