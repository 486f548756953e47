/* Pure conversions from the site's strings to typed values; no I/O, unit-tested. */
#include "imp_normalize.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "params.h"

static bool
imp__is_unknown(const char *text)
{
	return text == NULL || text[0] == '\0' || strcasecmp(text, "unknown") == 0 ||
	       strcasecmp(text, "none") == 0 || strcasecmp(text, "null") == 0 || strcmp(text, "~") == 0;
}

bool
imp_parse_size(const char *text, long long *bytes)
{
	static const struct {
		const char *unit;
		long long factor;
	} units[] = {
		{"Bytes", 1}, {"B", 1}, {"KB", 1000LL}, {"MB", 1000000LL},
		{"GB", 1000000000LL}, {"TB", 1000000000000LL},
	};
	const char *p = text;
	long long whole = 0, frac = 0, scale = 1;
	int digits = 0;

	if (text == NULL)
		return false;
	for (; isdigit((unsigned char)*p) && digits < 12; p++, digits++)
		whole = whole * 10 + (*p - '0');
	if (digits == 0 || digits == 12)
		return false;
	if (*p == '.') {
		int fdigits = 0;

		for (p++; isdigit((unsigned char)*p) && fdigits < 6; p++, fdigits++) {
			frac = frac * 10 + (*p - '0');
			scale *= 10;
		}
		if (fdigits == 0 || fdigits == 6)
			return false;
	}
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcasecmp(p, units[i].unit) == 0) {
			/* integer arithmetic: 846.8 MB is exactly 846800000 bytes */
			*bytes = whole * units[i].factor + frac * units[i].factor / scale;
			return true;
		}
	}
	return false;
}

bool
imp_parse_md5(const char *text, char out[33], const char **md5)
{
	if (imp__is_unknown(text)) {
		*md5 = NULL;
		return true;
	}
	if (strlen(text) != 32)
		return false;
	for (int i = 0; i < 32; i++) {
		if (!isxdigit((unsigned char)text[i]))
			return false;
		out[i] = (char)tolower((unsigned char)text[i]);
	}
	out[32] = '\0';
	*md5 = out;
	return true;
}

bool
imp_parse_date(const char *text, const char **date)
{
	if (imp__is_unknown(text)) {
		*date = NULL;
		return true;
	}
	if (!params_date_valid(text))
		return false;
	*date = text;
	return true;
}

enum dom_branch
imp_branch_from_site(const char *text)
{
	static const char *const names[DOM_BRANCH__MAX] = {
		[DOM_BRANCH_STABLE] = "Stable", [DOM_BRANCH_STABLE_BETA] = "Stable Beta",
		[DOM_BRANCH_WEEKLY] = "Weekly", [DOM_BRANCH_PUBLIC_BETA] = "Public Beta",
	};

	for (int i = 0; text != NULL && i < DOM_BRANCH__MAX; i++)
		if (strcasecmp(text, names[i]) == 0 || strcasecmp(text, dom_branch_name((enum dom_branch)i)) == 0)
			return (enum dom_branch)i;
	return DOM_BRANCH__MAX;
}

enum dom_type
imp_type_from_site(const char *text)
{
	for (int i = 0; text != NULL && i < DOM_TYPE__MAX; i++)
		if (strcasecmp(text, dom_type_name((enum dom_type)i)) == 0)
			return (enum dom_type)i;
	return DOM_TYPE__MAX;
}

bool
imp_android_valid(const char *text)
{
	bool digit = false;

	if (text == NULL || strlen(text) > 16)
		return false;
	for (const char *p = text; *p; p++) {
		if (isdigit((unsigned char)*p))
			digit = true;
		else if (*p == '.' && digit && p[1] != '\0')
			digit = false;
		else
			return false;
	}
	return digit;
}

void
imp_version_sort_key(const char *version, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = version; *p && o + 1 < outlen;) {
		if (isdigit((unsigned char)*p)) {
			const char *start, *end;

			while (*p == '0' && isdigit((unsigned char)p[1]))
				p++;
			start = p;
			while (isdigit((unsigned char)*p))
				p++;
			end = p;
			if ((size_t)(end - start) > 99 || o + 2 + (size_t)(end - start) + 1 > outlen)
				break;
			o += (size_t)snprintf(out + o, outlen - o, "%02d%.*s", (int)(end - start),
					      (int)(end - start), start);
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
}

bool
imp_filename_from_link(const char *link, char *out, size_t outlen)
{
	const char *slash, *end;
	size_t n;

	if (link == NULL || (strncmp(link, "https://", 8) != 0 && strncmp(link, "http://", 7) != 0))
		return false;
	end = link + strcspn(link, "?#");
	slash = end;
	while (slash > link && slash[-1] != '/')
		slash--;
	n = (size_t)(end - slash);
	if (n == 0 || n >= outlen || slash - link <= 8)
		return false;
	memcpy(out, slash, n);
	out[n] = '\0';
	return strcspn(out, " \t\r\n") == n;
}

bool
imp_filename_md5_prefix(const char *filename, char out[11])
{
	/* A run of exactly ten hex digits between separators: "_ebbdfeed27_", "-4f80f763e9.zip". */
	for (const char *p = filename; *p; p++) {
		size_t n = 0;

		if (p != filename && strchr("_-", p[-1]) == NULL)
			continue;
		while (isxdigit((unsigned char)p[n]) && !isupper((unsigned char)p[n]))
			n++;
		if (n == 10 && strchr("_-.", p[10]) != NULL && p[10] != '\0') {
			bool has_letter = false;

			for (int i = 0; i < 10; i++)
				has_letter |= isalpha((unsigned char)p[i]) != 0;
			/* ten decimal digits are a date or build number more often than a hash */
			if (has_letter) {
				memcpy(out, p, 10);
				out[10] = '\0';
				return true;
			}
		}
	}
	return false;
}
