/* Logging to stderr with a timestamp, the process role and a level, as text or as JSON
 * lines. ALERT marks a condition that must never happen in a correct run; integration
 * tests fail on it. */
#ifndef BATON_CORE_LOG_H
#define BATON_CORE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_ALERT };

/* text: "TIME ROLE[PID] LEVEL: MESSAGE"; json: one object per line with the keys time,
 * level, role, pid, generation (a number, or null), event and msg (docs/run.md). */
enum log_format { LOG_TEXT, LOG_JSON };

/* Sets the least level printed and the role shown in each line (e.g. "master"). */
void log_setup(enum log_level least, const char *role);
/* Parses "debug|info|warn|error"; returns -1 on an unknown name. */
int log_level_parse(const char *name, enum log_level *out);

void log_set_format(enum log_format format);
enum log_format log_get_format(void);
const char *log_format_name(enum log_format format);
/* The parser of the --log-format option (OPT_CUSTOM): sets the process's format. */
int log_format_opt(void *opts, const char *arg, struct err *e);
/* The option-table line of every long-running verb (needs core/opt.h). */
#define LOG_FORMAT_OPTION                                                                          \
    {                                                                                              \
        .name = "log-format", .kind = OPT_CUSTOM, .parse = log_format_opt, .arg = "FORMAT",        \
        .def = "text",                                                                             \
        .help = "text, or json: one JSON object per line with\n"                                   \
                "time, level, role, pid, generation, event, msg"                                   \
    }

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line that marks a step of the service's life ("upgrade-requested", "ready",
 * "switched", "draining", "exited", "failed", "reexec"...): the same text, and in JSON its
 * event name and generation (generation 0: none) as fields a program can select on. */
void log_event(enum log_level level, const char *event, unsigned generation, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One line as log_event writes it, '\n' included, into buf (cap >= 256): never longer than
 * cap - 1 (a long message is cut, in JSON before an escape or a UTF-8 sequence, never
 * inside one); returns the length. JSON strings are valid UTF-8 whatever the input
 * (invalid bytes become U+FFFD). For the unit tests and log_event. */
size_t log_format_line(char *buf, size_t cap, enum log_format format, int64_t unix_ms,
                       const char *role, int pid, enum log_level level, const char *event,
                       unsigned generation, const char *msg);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_alert(...) log_msg(LOG_ALERT, __VA_ARGS__)

#endif
