/* tap.h -- a tiny TAP producer for sessiongate's unit tests.
 *
 * Each check prints "ok N - name" or "not ok N - name" with a diagnostic,
 * and tap_done() prints the plan and returns the exit status, so that
 * automake's tap-driver.sh counts every check. Header-only on purpose:
 * every test program is one .c file plus the library under test.
 *
 *     int main(void) {
 *         TAP_OK(1 + 1 == 2, "addition");
 *         TAP_IS_INT(sum(2, 2), 4, "sum");
 *         TAP_IS_STR(name(), "x", "name");
 *         return tap_done();
 *     }
 */
#ifndef SG_TAP_H
#define SG_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static int tap_check(int cond, const char *name, const char *file, int line)
{
    tap_count++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, name);
    if (!cond) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

static inline void tap_diag_int(long long got, long long want)
{
    printf("#   got %lld, want %lld\n", got, want);
}

static inline void tap_diag_str(const char *got, const char *want)
{
    printf("#   got \"%s\"\n#  want \"%s\"\n", got ? got : "(null)",
           want ? want : "(null)");
}

static inline int tap_streq(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#define TAP_OK(cond, name) tap_check(!!(cond), (name), __FILE__, __LINE__)

#define TAP_IS_INT(got, want, name)                                            \
    do {                                                                       \
        long long got_ = (long long)(got), want_ = (long long)(want);          \
        if (!tap_check(got_ == want_, (name), __FILE__, __LINE__))             \
            tap_diag_int(got_, want_);                                         \
    } while (0)

#define TAP_IS_STR(got, want, name)                                            \
    do {                                                                       \
        const char *got_ = (got), *want_ = (want);                             \
        if (!tap_check(tap_streq(got_, want_), (name), __FILE__, __LINE__))    \
            tap_diag_str(got_, want_);                                         \
    } while (0)

#endif
