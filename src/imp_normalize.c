/* Pure conversions from the site's strings to typed values; no I/O, unit-tested. */
#include "imp_normalize.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "params.h"

static bool
imp__is_unknown(const char *text)
{
	return text == NULL || text[0] == '\0' || strcasecmp(text, "unknown") == 0 || strcasecmp(text, "none") == 0 ||
	       strcasecmp(text, "null") == 0 || strcmp(text, "~") == 0;
}

bool
imp_parse_size(const char *text, long long *bytes)
{
	static const struct {
		const char *unit;
		long long factor;
	} units[] = {
		{"Bytes", 1},         {"B", 1},
		{"KB", 1000LL},       {"MB", 1000000LL},
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
			if (whole > (LLONG_MAX - units[i].factor) / units[i].factor)
				return false; /* no ROM is that large: not a size */
			*bytes = whole * units[i].factor + frac * units[i].factor / scale;
			return true;
		}
	}
	return false;
}

bool
imp_parse_md5(const char *text, char out[33], const char **md5)
{
	out[0] = '\0';
	*md5 = NULL;
	if (imp__is_unknown(text)) {
		*md5 = NULL;
		return true;
	}
	if (strlen(text) != 32)
		return false;
	for (int i = 0; i < 32; i++) {
		if (!isxdigit((unsigned char)text[i])) {
			out[0] = '\0';
			return false;
		}
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
		[DOM_BRANCH_STABLE] = "Stable",
		[DOM_BRANCH_STABLE_BETA] = "Stable Beta",
		[DOM_BRANCH_WEEKLY] = "Weekly",
		[DOM_BRANCH_PUBLIC_BETA] = "Public Beta",
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
	/* ^[0-9]{1,2}(\.[0-9]{1,2})?$, as the API's android filter and the schema have it */
	size_t major, minor;

	if (text == NULL)
		return false;
	major = strspn(text, "0123456789");
	if (major < 1 || major > 2)
		return false;
	if (text[major] == '\0')
		return true;
	minor = strspn(text + major + 1, "0123456789");
	return text[major] == '.' && minor >= 1 && minor <= 2 && text[major + 1 + minor] == '\0';
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
			o += (size_t)snprintf(out + o, outlen - o, "%02d%.*s", (int)(end - start), (int)(end - start),
					      start);
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
	for (const char *p = link; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
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

bool
imp_filename_android(const char *filename, char *out, size_t outlen)
{
	/* The last "_N.N" or "-N.N" token before the extension. */
	const char *end = strrchr(filename, '.');
	const char *best = NULL;
	size_t best_len = 0;

	if (end == NULL)
		return false;
	for (const char *t = filename; t < end;) {
		size_t n = strcspn(t, "_-");

		if (t + n > end)
			n = (size_t)(end - t);
		bool digits_and_dots = true;

		for (size_t i = 0; i < n; i++)
			digits_and_dots &= isdigit((unsigned char)t[i]) || t[i] == '.';
		if (n >= 3 && n <= 5 && digits_and_dots && isdigit((unsigned char)t[0]) && memchr(t, '.', n) != NULL &&
		    t[n - 1] != '.') {
			best = t;
			best_len = n;
		}
		t += n + 1;
	}
	if (best == NULL || best_len >= outlen)
		return false;
	memcpy(out, best, best_len);
	out[best_len] = '\0';
	return true;
}

bool
imp_incremental_versions(const char *filename, char *from, char *to, size_t len)
{
	/* The first two '-'-separated tokens that look like versions: a digit and a dot. */
	char *found[2] = {from, to};
	int n = 0;

	for (const char *t = filename; *t && n < 2;) {
		size_t tl = strcspn(t, "-");
		bool versionlike = memchr(t, '.', tl) != NULL && strcspn(t, "0123456789") < tl &&
				   !(tl > 4 && strncmp(t + tl - 4, ".zip", 4) == 0);

		if (versionlike && tl < len) {
			memcpy(found[n], t, tl);
			found[n][tl] = '\0';
			n++;
		}
		t += tl + (t[tl] == '-');
	}
	return n == 2;
}

static void imp__warn(struct imp_row *row, enum imp_warning w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
imp__warn(struct imp_row *row, enum imp_warning w, const char *fmt, ...)
{
	va_list ap;

	row->warnings |= 1u << w;
	va_start(ap, fmt);
	vsnprintf(row->warning_text[w], sizeof row->warning_text[w], fmt, ap);
	va_end(ap);
}

/* Today as YYYY-MM-DD (UTC), for "a date in the future". */
static const char *
imp__today(void)
{
	static char today[11];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	return today;
}

/* field: the card's member at fault (readers of JSON point at it), NULL for none. */
static bool
imp__reject(char *err, size_t errlen, const struct imp_card *card, struct imp_row *row, const char *field,
	    const char *what)
{
	row->reject_field = field;
	snprintf(err, errlen, "%s:%lu: %s", card->file, card->line, what);
	return false;
}

/* Android versions agree when their major numbers do ("6.0" and "6"; "4.4" and "4.4"). */
static bool
imp__same_android(const char *a, const char *b)
{
	size_t la = strcspn(a, "."), lb = strcspn(b, ".");

	if (strcmp(a, "4.4") == 0 || strcmp(b, "4.4") == 0)
		return strncmp(a, b, 3) == 0;
	return la == lb && strncmp(a, b, la) == 0;
}

/* Whether two pieces of region evidence agree. Fastboot file names of every regional
 * global build (Russia, Indonesia, ...) say "global": that word agrees with any region
 * but China. */
static bool
imp__regions_agree(enum dom_region a, enum dom_region b, bool b_from_filename)
{
	return a == b || (b_from_filename && b == DOM_REGION_GLOBAL && a != DOM_REGION_CN);
}

struct imp__evidence {
	enum dom_region region;
	const char *what;
	bool filename;
};

/* Region: the version's code, else the fastboot file name, else the display name,
 * else the variant's; a file name's generic "global" comes after the display name.
 * Disagreements are kept as evidence and reported. */
static void
imp__regions(struct imp_row *row)
{
	struct imp__evidence ev[3];
	int n = 0;

	row->region_by_version = dom_region_from_version(row->version);
	row->region_by_filename = dom_region_from_filename(row->filename);
	row->region_by_name = row->display_name ? dom_region_from_name(row->display_name) : DOM_REGION__MAX;
	ev[n++] = (struct imp__evidence){row->region_by_version, "version", false};
	if (row->region_by_filename == DOM_REGION_GLOBAL) {
		ev[n++] = (struct imp__evidence){row->region_by_name, "display name", false};
		ev[n++] = (struct imp__evidence){row->region_by_filename, "file name", true};
	} else {
		ev[n++] = (struct imp__evidence){row->region_by_filename, "file name", true};
		ev[n++] = (struct imp__evidence){row->region_by_name, "display name", false};
	}
	row->region = DOM_REGION__MAX;
	for (int i = 0; i < n; i++) {
		if (ev[i].region == DOM_REGION__MAX)
			continue;
		if (row->region == DOM_REGION__MAX) {
			row->region = ev[i].region;
			continue;
		}
		if (!imp__regions_agree(row->region, ev[i].region, ev[i].filename) &&
		    !(row->warnings & (1u << IMP_WARN_REGION_MISMATCH)))
			imp__warn(row, IMP_WARN_REGION_MISMATCH, "the region is %s, but the %s says %s",
				  dom_region_name(row->region), ev[i].what, dom_region_name(ev[i].region));
	}
	if (row->region == DOM_REGION__MAX)
		row->region = row->variant_region;
}

/* Copies s[0..n) into out when it fits, else leaves out empty. */
static void
imp__copy_part(char *out, size_t outlen, const char *s, size_t n)
{
	if (n > 0 && n < outlen) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
}

static void
imp__filename_variant(struct imp_row *row)
{
	const char *f = row->filename, *mark;

	if (row->type == DOM_TYPE_FASTBOOT && (mark = strstr(f, "_images_")) != NULL)
		imp__copy_part(row->filename_variant, sizeof row->filename_variant, f, (size_t)(mark - f));
	else if (row->type == DOM_TYPE_RECOVERY && (mark = strstr(f, "-ota_full-")) != NULL)
		imp__copy_part(row->filename_variant, sizeof row->filename_variant, f, (size_t)(mark - f));
	else if (row->type == DOM_TYPE_RECOVERY && strncmp(f, "miui_", 5) == 0)
		imp__copy_part(row->filename_miui, sizeof row->filename_miui, f + 5, strcspn(f + 5, "_"));
}

bool
imp_normalize(const struct imp_card *card, struct imp_row *row, char *err, size_t errlen)
{
	char android_in_name[16], prefix[11], linkname[256];
	const char *texts[] = {card->name, card->changelog, card->md5, card->size, card->date, card->android};
	static const char *const text_fields[] = {"name", "changelog", "md5", "size", "date", "android"};
	const char *md5, *date;

	memset(row, 0, sizeof *row);
	row->file = card->file;
	row->line = card->line;
	row->size = -1;
	if (card->codename == NULL || !params_codename_valid(card->codename))
		return imp__reject(err, errlen, card, row, "codename",
				   "the codename is missing or not 1 to 64 letters, digits or '_'");
	if (card->version == NULL || card->version[0] == '\0' || strlen(card->version) > 64 ||
	    strcspn(card->version, " \t\r\n") != strlen(card->version))
		return imp__reject(err, errlen, card, row, "version",
				   "the version is missing, longer than 64 characters or has spaces");
	row->branch = imp_branch_from_site(card->branch);
	if (row->branch == DOM_BRANCH__MAX)
		return imp__reject(err, errlen, card, row, "branch",
				   "the branch is missing or not Stable, Stable Beta, Weekly or Public Beta");
	row->type = imp_type_from_site(card->type);
	if (row->type == DOM_TYPE__MAX)
		return imp__reject(err, errlen, card, row, "type",
				   "the type (method) is missing or not Recovery or Fastboot");
	if (card->nlinks == 0 || !imp_filename_from_link(card->links[0], linkname, sizeof linkname))
		return imp__reject(err, errlen, card, row, "links",
				   "the download link is missing or not an http(s) URL of a file");
	for (size_t i = 1; i < card->nlinks; i++)
		if (!imp_filename_from_link(card->links[i], linkname, sizeof linkname))
			return imp__reject(err, errlen, card, row, "links",
					   "a mirror link is not an http(s) URL of a file");
	if (card->filename != NULL) {
		if (card->filename[0] == '\0' || strlen(card->filename) >= sizeof row->filename ||
		    strcspn(card->filename, "/ \t\r\n") != strlen(card->filename))
			return imp__reject(err, errlen, card, row, "filename",
					   "the package name is empty, too long or not a file name");
		snprintf(row->filename, sizeof row->filename, "%s", card->filename);
	} else {
		snprintf(row->filename, sizeof row->filename, "%s", linkname);
	}
	if (card->name != NULL && (card->name[0] == '\0' || strlen(card->name) > 200))
		return imp__reject(err, errlen, card, row, "name",
				   "the display name is empty or longer than 200 characters");
	/* XML (the feeds) and most clients cannot carry C0 controls but tab and new lines */
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		for (const char *p = texts[i]; p != NULL && *p; p++)
			if (((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
				return imp__reject(err, errlen, card, row, text_fields[i],
						   "a field has a control character");
	if (card->incremental_url != NULL &&
	    !imp_filename_from_link(card->incremental_url, row->incremental_filename, sizeof row->incremental_filename))
		return imp__reject(err, errlen, card, row, "incremental",
				   "the incremental update link is not an http(s) URL of a file");

	imp__filename_variant(row);
	row->version = card->version;
	row->display_name = card->name;
	row->changelog = card->changelog;
	for (size_t i = 0; i < card->nlinks; i++) {
		row->links[i] = card->links[i];
		if (imp_filename_from_link(card->links[i], linkname, sizeof linkname) &&
		    strcmp(linkname, row->filename) != 0)
			imp__warn(row, IMP_WARN_LINK_MISMATCH, "link %zu is for %s, not %s", i + 1, linkname,
				  row->filename);
	}
	row->nlinks = card->nlinks;

	/* Device and variant: a variant codename names both; a page names only the phone. */
	row->variant_region = dom_variant_split(card->codename, row->device);
	if (!card->codename_is_base)
		snprintf(row->variant, sizeof row->variant, "%s", card->codename);
	imp__regions(row);
	if (card->codename_is_base) {
		/* "cancro" listed as "MI 3 / Mi 4 Global" is the variant cancro_global */
		snprintf(row->device, sizeof row->device, "%s", card->codename);
		dom_variant_codename(card->codename, row->region, row->synth_variant, sizeof row->synth_variant);
		row->variant_region = row->region;
	}

	ver_parse(card->version, &row->ver);
	if (row->ver.family == VER_OTHER)
		imp__warn(row, IMP_WARN_VERSION_UNPARSED, "version %s fits no known grammar", card->version);
	imp_version_sort_key(card->version, row->version_sort, sizeof row->version_sort);

	if (card->has_size_bytes) {
		/* a typed size (JSON): bytes already, nothing to parse */
		row->size = card->size_bytes;
		if (row->size < IMP_MIN_PLAUSIBLE_SIZE)
			imp__warn(row, IMP_WARN_SIZE_IMPLAUSIBLE, "%lld bytes cannot be a ROM", row->size);
	} else if (!imp_parse_size(card->size, &row->size)) {
		row->size = -1;
		if (card->size != NULL)
			imp__warn(row, IMP_WARN_SIZE_UNPARSED, "size \"%s\" is not a size", card->size);
	} else if (row->size < IMP_MIN_PLAUSIBLE_SIZE) {
		imp__warn(row, IMP_WARN_SIZE_IMPLAUSIBLE, "%lld bytes cannot be a ROM", row->size);
	}
	if (!imp_parse_md5(card->md5, row->md5, &md5))
		imp__warn(row, IMP_WARN_MD5_INVALID, "MD5 \"%s\" is not 32 hex digits", card->md5);
	if (md5 == NULL)
		row->md5[0] = '\0';
	if (row->md5[0] && imp_filename_md5_prefix(row->filename, prefix) && strncmp(row->md5, prefix, 10) != 0)
		imp__warn(row, IMP_WARN_MD5_MISMATCH, "the file name says %s, the MD5 is %s", prefix, row->md5);
	if (!imp_parse_date(card->date, &date)) {
		imp__warn(row, IMP_WARN_DATE_INVALID, "date \"%s\" is not a YYYY-MM-DD date", card->date);
		date = NULL;
	} else if (date != NULL && (strcmp(date, "2010-01-01") < 0 || strcmp(date, imp__today()) > 0)) {
		imp__warn(row, IMP_WARN_DATE_IMPLAUSIBLE, "date %s is not plausible for a ROM", date);
	}
	row->date = date;

	/* Pages have no Android field: the file name says it, else the version's letter. */
	row->android = card->android;
	if (row->android == NULL && imp_filename_android(row->filename, row->android_buf, sizeof row->android_buf))
		row->android = row->android_buf;
	else if (row->android == NULL && ver_android_of_letter(row->ver.android_letter) != NULL)
		row->android = ver_android_of_letter(row->ver.android_letter);
	if (row->android != NULL && !imp_android_valid(row->android)) {
		imp__warn(row, IMP_WARN_ANDROID_INVALID, "Android version \"%s\" is not a version", row->android);
		row->android = NULL;
	}
	if (row->android != NULL && imp_filename_android(row->filename, android_in_name, sizeof android_in_name) &&
	    !imp__same_android(row->android, android_in_name))
		imp__warn(row, IMP_WARN_ANDROID_MISMATCH, "Android %s, but the file name says %s", row->android,
			  android_in_name);
	if (row->android != NULL && row->ver.android_letter != '\0' &&
	    ver_android_of_letter(row->ver.android_letter) != NULL &&
	    !imp__same_android(row->android, ver_android_of_letter(row->ver.android_letter)))
		imp__warn(row, IMP_WARN_ANDROID_MISMATCH, "Android %s, but the version letter %c means %s",
			  row->android, row->ver.android_letter, ver_android_of_letter(row->ver.android_letter));

	if (card->incremental_url != NULL) {
		row->incremental_url = card->incremental_url;
		if (!imp_incremental_versions(row->incremental_filename, row->incremental_from, row->incremental_to,
					      sizeof row->incremental_from)) {
			row->incremental_from[0] = '\0';
			row->incremental_to[0] = '\0';
		}
	}
	return true;
}
