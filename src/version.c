/* Version grammars of MIUI, HyperOS, weekly and public beta builds. */
#include "version.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const ver__families[VER__MAX] = {
	"miui", "hyperos", "weekly", "public-beta", "other",
};

const char *
ver_family_name(enum ver_family f)
{
	return f < VER__MAX ? ver__families[f] : "other";
}

const char *
ver_android_of_letter(char letter)
{
	static const char *const android[] = {
		/* cppcheck-suppress duplicateExpression ; 'K' - 'K' on purpose: each index spells its letter */
		['K' - 'K'] = "4.4",  ['L' - 'K'] = "5.0",  ['M' - 'K'] = "6.0",  ['N' - 'K'] = "7.0",
		['O' - 'K'] = "8.0",  ['P' - 'K'] = "9.0",  ['Q' - 'K'] = "10.0", ['R' - 'K'] = "11.0",
		['S' - 'K'] = "12.0", ['T' - 'K'] = "13.0", ['U' - 'K'] = "14.0", ['V' - 'K'] = "15.0",
		['W' - 'K'] = "16.0",
	};

	if (letter < 'K' || letter > 'W')
		return NULL;
	return android[letter - 'K'];
}

/* Reads "N.N.N..." at *p: at least min and at most VER_MAX_NUMBERS numbers of at most
 * 6 digits. Leaves *p after the last number. */
static bool
ver__numbers(const char **p, struct ver *v, size_t min)
{
	const char *s = *p;

	v->nnumbers = 0;
	for (;;) {
		size_t n = strspn(s, "0123456789");

		if (n == 0 || n > 6 || v->nnumbers == VER_MAX_NUMBERS)
			return false;
		v->numbers[v->nnumbers++] = strtol(s, NULL, 10);
		s += n;
		if (s[0] != '.' || !isdigit((unsigned char)s[1]))
			break;
		s++;
	}
	*p = s;
	return v->nnumbers >= min;
}

static bool
ver__codes(const char *s, struct ver *v)
{
	/* Android letter, device, region, suffix: seven capitals. */
	if (strlen(s) != 7)
		return false;
	for (int i = 0; i < 7; i++)
		if (!isupper((unsigned char)s[i]))
			return false;
	v->android_letter = s[0];
	memcpy(v->device_code, s + 1, 2);
	memcpy(v->region_code, s + 3, 2);
	memcpy(v->suffix, s + 5, 2);
	return true;
}

void
ver_parse(const char *text, struct ver *v)
{
	const char *p = text;
	bool os = false;

	memset(v, 0, sizeof *v);
	v->family = VER_OTHER;
	if (strncmp(p, "OS", 2) == 0) {
		os = true;
		p += 2;
	} else if (p[0] == 'V' || p[0] == 'A') {
		p += 1;
	} else if (isdigit((unsigned char)p[0])) {
		/* weekly: exactly three numbers and nothing else */
		if (ver__numbers(&p, v, 3) && v->nnumbers == 3 && *p == '\0') {
			v->family = VER_WEEKLY;
			return;
		}
		goto other;
	} else {
		goto other;
	}
	if (!ver__numbers(&p, v, 4) || *p != '.')
		goto other;
	p++;
	if (strcmp(p, "DEV") == 0 && v->nnumbers >= 5 && text[0] != 'A') {
		v->family = VER_PUBLIC_BETA;
		return;
	}
	if (v->nnumbers == 4 && ver__codes(p, v)) {
		v->family = os ? VER_HYPEROS : VER_MIUI;
		return;
	}
other:
	memset(v, 0, sizeof *v);
	v->family = VER_OTHER;
}
