/* email.h -- email address validation and normalisation.
 *
 * Addresses are checked against a PCRE2 pattern (compiled once per
 * worker) for the dot-atom form of RFC 5322 that real mail systems
 * accept: a local part of atext and dots, '@', and a domain of at least
 * two LDH labels. Quoted local parts and IP-literal domains are refused.
 * Addresses compare case-insensitively: the stored form is lowercased.
 */
#ifndef SG_EMAIL_H
#define SG_EMAIL_H

#include "sg.h"

struct sg_email;

/* jit: JIT-compile the pattern, worth it for a process that checks many
 * addresses, not for one that checks one (CGI, the CLI). */
struct sg_email *sg_email_new(bool jit);
void sg_email_free(struct sg_email *e);

/* Validate in[0..len) and write its lowercase form into out (at least
 * SG_EMAIL_MAX + 1 bytes). SG_EINVAL if it is not an acceptable address
 * (including longer than 254 bytes). */
int sg_email_normalize(struct sg_email *e, const char *in, size_t len,
                       char *out, size_t outlen);

#endif
