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

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
