/* Fuzzes version parsing (version.c): typed parts that write the version back as it was read. */
#include "fuzz.h"

#include <stdio.h>
#include <string.h>

#include "version.h"

/* The version v describes, numbers without leading zeros; "" for VER_OTHER. */
static void
fuzz__render(const struct ver *v, char first, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	if (v->family == VER_OTHER)
		return;
	if (v->family == VER_HYPEROS || (v->family == VER_PUBLIC_BETA && first == 'O'))
		o += (size_t)snprintf(out + o, outlen - o, "OS");
	else if (v->family != VER_WEEKLY)
		o += (size_t)snprintf(out + o, outlen - o, "%c", first);
	for (size_t i = 0; i < v->nnumbers; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%ld", i ? "." : "", v->numbers[i]);
	if (v->family == VER_PUBLIC_BETA)
		snprintf(out + o, outlen - o, ".DEV");
	else if (v->family != VER_WEEKLY)
		snprintf(out + o, outlen - o, ".%c%s%s%s", v->android_letter, v->device_code, v->region_code,
			 v->suffix);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = fuzz_string(data, size);
	char out[128];
	struct ver v, again;

	for (size_t i = 0; i < size; i++) {
		const char *a = ver_android_of_letter((char)data[i]);

		FUZZ_CHECK(a == NULL || (data[i] >= 'K' && data[i] <= 'W'));
	}
	ver_parse(text, &v);
	FUZZ_CHECK(v.family < VER__MAX && ver_family_name(v.family) != NULL);
	FUZZ_CHECK(v.nnumbers <= VER_MAX_NUMBERS);
	for (size_t i = 0; i < v.nnumbers; i++)
		FUZZ_CHECK(v.numbers[i] >= 0 && v.numbers[i] <= 999999);
	FUZZ_CHECK(v.device_code[2] == '\0' && v.region_code[2] == '\0' && v.suffix[2] == '\0');
	switch (v.family) {
	case VER_MIUI:
	case VER_HYPEROS:
		FUZZ_CHECK(v.nnumbers == 4 && v.android_letter >= 'A' && v.android_letter <= 'Z');
		FUZZ_CHECK(strlen(v.device_code) == 2 && strlen(v.region_code) == 2 && strlen(v.suffix) == 2);
		FUZZ_CHECK(v.family == VER_HYPEROS ? strncmp(text, "OS", 2) == 0 : text[0] == 'V' || text[0] == 'A');
		break;
	case VER_WEEKLY: FUZZ_CHECK(v.nnumbers == 3); break;
	case VER_PUBLIC_BETA:
		FUZZ_CHECK(v.nnumbers >= 5 && strlen(text) > 4 && strcmp(text + strlen(text) - 4, ".DEV") == 0);
		break;
	case VER_OTHER: FUZZ_CHECK(v.nnumbers == 0 && v.android_letter == '\0' && v.device_code[0] == '\0'); break;
	case VER__MAX: break;
	}
	if (v.family != VER_WEEKLY && v.family != VER_OTHER)
		FUZZ_CHECK(v.android_letter == '\0' || v.family != VER_PUBLIC_BETA);
	/* written back, the parts read as the same version; the same text when it had no leading zeros */
	fuzz__render(&v, text[0], out, sizeof out);
	if (v.family != VER_OTHER) {
		ver_parse(out, &again);
		FUZZ_CHECK(memcmp(&v, &again, sizeof v) == 0);
		FUZZ_CHECK(strlen(out) <= strlen(text));
		if (strlen(out) == strlen(text))
			FUZZ_CHECK(strcmp(out, text) == 0);
	}
	return 0;
}
