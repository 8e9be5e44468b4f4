/* log.h -- one line per event on stderr, which every web server routes to
 * its error log.
 *
 * Lines read "2026-11-23T10:30:00Z sessiongate[123] warn: message". The
 * level is set once at start; it is the one piece of process-wide state
 * besides the signal flags, because every layer logs and none should need
 * a context for it. Never pass a secret, token or password to these
 * functions: log ids and reasons, not credentials.
 */
#ifndef SG_LOG_H
#define SG_LOG_H

#include "config.h"

void sg_log_set_level(enum sg_log_level level);
bool sg_log_enabled(enum sg_log_level level);

void sg_log(enum sg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A line labelled "audit" instead of a level, written whatever the
 * level (audit.c: the trail an operator keeps even at warn). */
void sg_log_audit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define sg_log_error(...) sg_log(SG_LOG_ERROR, __VA_ARGS__)
#define sg_log_warn(...)  sg_log(SG_LOG_WARN, __VA_ARGS__)
#define sg_log_info(...)  sg_log(SG_LOG_INFO, __VA_ARGS__)
#define sg_log_debug(...)                                                      \
    do {                                                                       \
        if (sg_log_enabled(SG_LOG_DEBUG))                                      \
            sg_log(SG_LOG_DEBUG, __VA_ARGS__);                                 \
    } while (0)

#endif
