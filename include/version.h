/* ROM versions in typed parts: family, numbers, Android letter, device, region and suffix codes. */
#ifndef VERSION_H
#define VERSION_H

#include <stdbool.h>
#include <stddef.h>

enum ver_family {
	VER_MIUI,        /* V12.5.3.0.RKHMIXM, and Android One's A15.0.15.0.VGWEUXM */
	VER_HYPEROS,     /* OS1.0.5.0.TKHMIXM */
	VER_WEEKLY,      /* 7.3.23: year.month.day of the build */
	VER_PUBLIC_BETA, /* V14.0.23.4.17.DEV, OS1.0.24.1.8.DEV */
	VER_OTHER,       /* anything else (JHACNBH22.0): kept as it is, unparsed */
	VER__MAX
};

#define VER_MAX_NUMBERS 6

struct ver {
	enum ver_family family;
	long numbers[VER_MAX_NUMBERS];
	size_t nnumbers;
	char android_letter; /* 'R', or '\0' when the version has none */
	char device_code[3]; /* "KH", or "" */
	char region_code[3]; /* "MI", or "" */
	char suffix[3];      /* "XM", or "" */
};

/* Parses a version; VER_OTHER (no numbers) when it fits no known grammar. */
void ver_parse(const char *text, struct ver *out);
/* The PostgreSQL enum label of a family: "miui", "hyperos", "weekly", "public-beta", "other". */
const char *ver_family_name(enum ver_family f);
/* Android version of a version letter ('R' -> "11.0"), or NULL for an unknown letter. */
const char *ver_android_of_letter(char letter);

#endif
