/* log.h - readable, thread-safe log lines on stderr.
 *
 *   2026-11-22T08:01:02.123Z INFO  [http] listening on 127.0.0.1:8080
 */
#ifndef SCIMSYNC_LOG_H
#define SCIMSYNC_LOG_H

#include <stdarg.h>

enum { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Set the highest level written; lower-priority lines are dropped. */
void log_set_level(int level);
int log_get_level(void);
/* "error", "warn", "info", "debug" -> level; -1 if unknown. */
int log_level_parse(const char *name);

/* One line; `who` names the component ("http", "store", a plugin). */
void log_msg(int level, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(int level, const char *who, const char *fmt, va_list ap);

#endif
