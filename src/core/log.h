/* Logging to stderr with a timestamp, the process role and a level. ALERT marks a
 * condition that must never happen in a correct run; integration tests fail on it. */
#ifndef BATON_CORE_LOG_H
#define BATON_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_ALERT };

/* Sets the least level printed and the role shown in each line (e.g. "master"). */
void log_setup(enum log_level least, const char *role);
/* Parses "debug|info|warn|error"; returns -1 on an unknown name. */
int log_level_parse(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_alert(...) log_msg(LOG_ALERT, __VA_ARGS__)

#endif
