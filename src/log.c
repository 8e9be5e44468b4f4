/* log.c -- stderr logging, one write(2) per line.
 *
 * A line is formatted into a stack buffer and written with one write() so
 * that lines from several workers sharing the web server's error log never
 * interleave mid-line. Control characters in the message are replaced, so a
 * client-supplied value can never forge a log line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum sg_log_level log_level = SG_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void sg_log_set_level(enum sg_log_level level)
{
    log_level = level;
}

bool sg_log_enabled(enum sg_log_level level)
{
    return level <= log_level;
}

/* One line, labelled with a level's name or the audit's. */
static void vlog(const char *label, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vlog(const char *label, const char *fmt, va_list ap)
{
    char line[1024];
    struct tm tm;
    time_t now = time(NULL);
    size_t n, head;

    gmtime_r(&now, &tm);
    head = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
    n = head + (size_t)snprintf(line + head, sizeof(line) - head,
                                " sessiongate[%ld] %s: ", (long)getpid(),
                                label);
    head = n;
    n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    for (size_t i = head; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report it */
    }
}

void sg_log(enum sg_log_level level, const char *fmt, ...)
{
    va_list ap;

    if (!sg_log_enabled(level))
        return;
    va_start(ap, fmt);
    vlog(level_names[level], fmt, ap);
    va_end(ap);
}

void sg_log_audit(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog("audit", fmt, ap);
    va_end(ap);
}
