/* utf8.h -- UTF-8 validation and repair with explicit lengths.
 *
 * Well-formed means RFC 3629 section 4 (Unicode section 3.9, table 3-7):
 * no overlong forms, no encoded surrogates (U+D800..U+DFFF), nothing past
 * U+10FFFF, no truncated sequences. NUL is a character like any other
 * here; callers that cannot hold it refuse it themselves.
 *
 * Nothing allocates; every function reads exactly s[0..len).
 */
#ifndef SG_UTF8_H
#define SG_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* U+FFFD REPLACEMENT CHARACTER, as UTF-8. */
#define SG_UTF8_REPLACEMENT     "\xef\xbf\xbd"
#define SG_UTF8_REPLACEMENT_LEN 3

/* Whether s[0..len) is well-formed UTF-8. ASCII is checked eight bytes
 * at a time, so a short ASCII string costs a word compare or two. */
bool sg_utf8_valid(const char *s, size_t len);

/* One step through s[0..len), len >= 1: the number of bytes to advance,
 * 1 to 4. *well_formed tells whether they are one well-formed character;
 * when not, they are the maximal subpart of an ill-formed sequence
 * (Unicode section 3.9, "U+FFFD Substitution of Maximal Subparts"), which
 * a writer replaces with one U+FFFD: "\xe2\x82" then 'a' is one
 * replacement and 'a', "\xc0\xaf" is two replacements. */
size_t sg_utf8_next(const char *s, size_t len, bool *well_formed);

/* Whether s[0..len) is text that sg_utf8_sanitize would leave as it is:
 * well-formed UTF-8 without control characters. For fields a person
 * names, such as a user's name. */
bool sg_utf8_is_text(const char *s, size_t len);

/* Copy in[0..inlen) into out[0..outsize) as well-formed UTF-8 without
 * control characters, for untrusted text that is stored and shown later
 * (a User-Agent header): each ill-formed subpart and each control
 * character (U+0000..U+001F, U+007F, U+0080..U+009F) becomes U+FFFD.
 * When the result does not fit, it is cut before the first character
 * that does not fit whole, never inside one. out is NUL-terminated when
 * outsize > 0. Returns the length written, without the NUL. */
size_t sg_utf8_sanitize(char *out, size_t outsize, const char *in,
                        size_t inlen);

#endif
