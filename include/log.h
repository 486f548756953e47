/* Logging to stderr with a level, a timestamp and the process it comes from. */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG__MAX };

void log_set_level(enum log_level level);
/* Name shown in each line, e.g. "master" or "worker 3". */
void log_set_role(const char *role);
/* Parses "error", "warn", "info", "debug"; returns LOG__MAX when unknown. */
enum log_level log_level_parse(const char *name);
/* "error", "warn", "info", "debug"; "?" for anything else. */
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The request in hand (its X-Request-Id, already checked by http_request_id_valid): every line logged until it is
 * cleared (NULL) ends with " request=<id>". */
void log_set_request(const char *id);

/* The access log's format (access_log): one line per request. */
enum log_access { LOG_ACCESS_OFF, LOG_ACCESS_LOGFMT, LOG_ACCESS_JSON, LOG_ACCESS__MAX };
/* Parses "off", "logfmt", "json"; LOG_ACCESS__MAX when unknown. */
enum log_access log_access_parse(const char *name);
const char *log_access_name(enum log_access format);
/* Writes one line as it is (an access log line), in one write, whatever the level. */
void log_line(const char *text);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
