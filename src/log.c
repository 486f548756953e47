/* Log lines: "2026-11-21T10:00:00Z romtrack[1234] worker 1 info: message". */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level log__level = LOG_INFO;
static char log__role[32] = "main";
static char log__request[160]; /* " request=<id>", or "" */

static const char *const log__names[LOG__MAX] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void
log_set_level(enum log_level level)
{
	log__level = level;
}

void
log_set_role(const char *role)
{
	snprintf(log__role, sizeof log__role, "%s", role);
}

/* The index of name in names[0..n), n when it is none of them. */
static int
log__lookup(const char *const *names, int n, const char *name)
{
	int i = 0;

	while (i < n && strcmp(name, names[i]) != 0)
		i++;
	return i;
}

enum log_level
log_level_parse(const char *name)
{
	return (enum log_level)log__lookup(log__names, LOG__MAX, name);
}

const char *
log_level_name(enum log_level level)
{
	return (unsigned)level < LOG__MAX ? log__names[level] : "?";
}

void
log_set_request(const char *id)
{
	if (id == NULL)
		log__request[0] = '\0';
	else
		snprintf(log__request, sizeof log__request, " request=%s", id);
}

static const char *const log__access_names[LOG_ACCESS__MAX] = {
	[LOG_ACCESS_OFF] = "off",
	[LOG_ACCESS_LOGFMT] = "logfmt",
	[LOG_ACCESS_JSON] = "json",
};

enum log_access
log_access_parse(const char *name)
{
	return (enum log_access)log__lookup(log__access_names, LOG_ACCESS__MAX, name);
}

const char *
log_access_name(enum log_access format)
{
	return (unsigned)format < LOG_ACCESS__MAX ? log__access_names[format] : "?";
}

void
log_line(const char *text)
{
	fprintf(stderr, "%s\n", text);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048], stamp[32];
	struct tm tm;
	time_t now;
	va_list ap;
	int n;

	if (level > log__level)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof line, "%s romtrack[%ld] %s %s: ", stamp, (long)getpid(), log__role,
		     log__names[level]);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (log__request[0] != '\0' && strlen(line) + strlen(log__request) < sizeof line)
		strcat(line, log__request);
	/* One write per line so that lines from several workers do not interleave. */
	fprintf(stderr, "%s\n", line);
}
