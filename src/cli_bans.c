/* cli_bans.c -- the sign-in lock-outs: `sessiongate bans list|clear`.
 *
 * Sign-in keeps two sliding-window logs (docs/RATE_LIMITS.md, window.lua):
 * ratelimit_signin counts every attempt, ratelimit_signin_failure the
 * failed ones, each per client address (its bucket: an IPv6 client as its
 * /64) or per account, as the policy says. A window at its limit answers
 * 429: that is the "ban", and it lifts by itself as its entries age out.
 * The keys (keys.h) are Prl:POLICY:ip:BUCKET and Prl:POLICY:acct:HASH,
 * HASH the SHA-256 of the email as typed, lowercased: no email is in a
 * key's name, so listing names an account by its email only when a user
 * has that email (the email of a stranger's guess stays a hash), and
 * clearing by email hashes it the same way.
 *
 * Listing is one SCAN with MATCH on the part the four key forms share
 * (never KEYS), on every master of a cluster (sg_store_limit_windows);
 * the count of a window is of its entries still inside the window, and a
 * window is locked while that count is at the limit, until enough of them
 * age out. Clearing deletes the windows of one subject (both policies),
 * or every one the scan finds: the next attempt starts from nothing.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cli_impl.h"
#include "client.h"
#include "clock.h"
#include "crypto.h"
#include "keys.h"

#define HASH_HEX   64
#define HASH_TAG   "sha256:"
#define BUCKET_MAX 63 /* sg_client_bucket_of writes into 64 bytes */

enum kind { KIND_ADDRESS, KIND_ACCOUNT };

static const char *const policy_names[] = {"signin", "signin_failure"};
static const char *const kind_names[] = {"address", "account"};

static const struct sg_rate_policy *policy_of(const struct sg_config *cfg,
                                              int policy)
{
    return policy == 0 ? &cfg->ratelimit_signin
                       : &cfg->ratelimit_signin_failure;
}

/* The key of a policy's window of subject (a bucket, or an account's
 * hash; "" gives the head the subject follows). */
static int window_key(char *out, const char *prefix, int policy, enum kind kind,
                      const char *subject)
{
    return kind == KIND_ADDRESS
               ? sg_key_limit_ip(out, prefix, policy_names[policy], subject)
               : sg_key_limit_account(out, prefix, policy_names[policy],
                                      subject);
}

struct ban {
    int policy;
    enum kind kind;
    char subject[HASH_HEX + 1];   /* the bucket, or the account's hash */
    char email[SG_EMAIL_MAX + 1]; /* the account's, when a user has it */
    char key[SG_KEY_MAX];
    long long count;      /* entries inside the window */
    int64_t locked_until; /* ms; 0: not locked */
    int64_t expires_at;   /* ms; 0: no TTL */
};

struct scan {
    const struct sg_config *cfg;
    char heads[2][2][SG_KEY_MAX]; /* [policy][kind], subject "" */
    int64_t now;
    struct ban *bans;
    size_t n, cap;
    int rc;
};

/* ---- finding the windows ------------------------------------------------ */

/* The SCAN pattern: the part the four heads share, its glob characters
 * escaped (a key_prefix may hold any), then "*". */
static int scan_pattern(const struct scan *sc, char out[2 * SG_KEY_MAX])
{
    const char *h = sc->heads[0][0];
    size_t common = strlen(h), n = 0;

    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 2; k++) {
            size_t i = 0;
            while (i < common && sc->heads[p][k][i] == h[i])
                i++;
            common = i;
        }
    for (size_t i = 0; i < common; i++) {
        if (strchr("*?[]\\", h[i]))
            out[n++] = '\\';
        out[n++] = h[i];
    }
    memcpy(out + n, "*", 2);
    return 0;
}

/* A subject as the server writes it: a bucket of text characters, or a
 * hash of lowercase hex. */
static bool subject_ok(enum kind kind, const char *s)
{
    size_t len = strlen(s);

    if (kind == KIND_ACCOUNT)
        return len == HASH_HEX && strspn(s, "0123456789abcdef") == len;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return len <= BUCKET_MAX;
}

/* Which head w's key has: the ban filled but for its counts; false for a
 * key of another shape that the pattern matched. */
static bool parse_key(const struct scan *sc, const char *key, struct ban *b)
{
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 2; k++) {
            size_t len = strlen(sc->heads[p][k]);
            if (strncmp(key, sc->heads[p][k], len) != 0 ||
                !subject_ok((enum kind)k, key + len))
                continue;
            memset(b, 0, sizeof(*b));
            b->policy = p, b->kind = (enum kind)k;
            snprintf(b->subject, sizeof(b->subject), "%s", key + len);
            snprintf(b->key, sizeof(b->key), "%s", key);
            return true;
        }
    return false;
}

/* The entries still inside the window, and while they are at the limit,
 * when enough of them will have aged out for an attempt to pass (the
 * window refuses at count >= limit: window.lua). */
static void count_window(const struct scan *sc, const struct sg_limit_window *w,
                         struct ban *b)
{
    const struct sg_rate_policy *p = policy_of(sc->cfg, b->policy);
    size_t first = 0, live;

    while (first < w->n && w->times[first] <= sc->now - p->window_ms)
        first++;
    live = w->n - first;
    b->count = (long long)live;
    if (p->limit > 0 && live >= (size_t)p->limit)
        b->locked_until =
            w->times[first + (live - (size_t)p->limit)] + p->window_ms;
    b->expires_at = w->ttl_ms >= 0 ? sc->now + w->ttl_ms : 0;
}

static int collect(void *arg, const struct sg_limit_window *w)
{
    struct scan *sc = arg;

    if (!sg_cli_reserve((void **)&sc->bans, &sc->cap, sc->n,
                        sizeof(*sc->bans))) {
        sc->rc = SG_ENOMEM;
        return 1;
    }
    if (parse_key(sc, w->key, &sc->bans[sc->n])) {
        count_window(sc, w, &sc->bans[sc->n]);
        sc->n++;
    }
    return 0;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct ban *)a)->key, ((const struct ban *)b)->key);
}

/* Every window of the two policies, by key, each once. 0 or the failure
 * status, reason printed; sc->bans is the caller's to free. */
static int scan_windows(struct sg_cli *c, struct scan *sc)
{
    char pattern[2 * SG_KEY_MAX];
    size_t kept = 0;
    int rc;

    sc->cfg = c->cfg;
    sc->now = sg_now_ms();
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 2; k++)
            if (window_key(sc->heads[p][k], c->cfg->key_prefix, p, (enum kind)k,
                           "") != SG_OK)
                return sg_cli_fail("the key_prefix is too long");
    scan_pattern(sc, pattern);
    rc = sg_store_limit_windows(c->store, pattern, collect, sc);
    if (rc == SG_OK)
        rc = sc->rc;
    if (rc == SG_ENOTFOUND)
        return sg_cli_fail("some slots of the Redis Cluster have no master: "
                           "the list would be partial, not given");
    if (rc == SG_ENOMEM)
        return sg_cli_fail("out of memory");
    if (rc != SG_OK)
        return sg_cli_store_fail(c);
    if (sc->n)
        qsort(sc->bans, sc->n, sizeof(*sc->bans), by_key);
    for (size_t i = 0; i < sc->n; i++)
        if (!kept || strcmp(sc->bans[i].key, sc->bans[kept - 1].key) != 0)
            sc->bans[kept++] = sc->bans[i];
    sc->n = kept;
    return 0;
}

/* ---- naming accounts ---------------------------------------------------- */

/* The key of sign-in's account windows: the SHA-256 of the email as typed,
 * ASCII-lowercased (handle_account.c). */
static int account_hash(const char *email, char out[HASH_HEX + 1])
{
    char lower[SG_EMAIL_MAX + 1];
    size_t len = strlen(email);

    if (len > SG_EMAIL_MAX)
        return SG_ETOOBIG;
    for (size_t i = 0; i <= len; i++)
        lower[i] =
            (email[i] >= 'A' && email[i] <= 'Z') ? email[i] + 32 : email[i];
    return sg_sha256_hex(lower, len, out);
}

static int by_subject(const void *a, const void *b)
{
    return strcmp((*(const struct ban *const *)a)->subject,
                  (*(const struct ban *const *)b)->subject);
}

struct naming {
    struct ban **accounts; /* sorted by hash */
    size_t n;
};

/* Give the account windows of email's hash their email. */
static int name_account(void *arg, const char *email)
{
    struct naming *nm = arg;
    char hash[HASH_HEX + 1];
    size_t lo = 0, hi = nm->n;

    if (account_hash(email, hash) != SG_OK)
        return 0;
    while (lo < hi) { /* the first window whose hash is not below */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(nm->accounts[mid]->subject, hash) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < nm->n && strcmp(nm->accounts[lo]->subject, hash) == 0; lo++)
        snprintf(nm->accounts[lo]->email, SG_EMAIL_MAX + 1, "%s", email);
    return 0;
}

/* The emails of the accounts that have a user: every user is read (as
 * `user list` does), only when some account has a window. */
static int name_accounts(struct sg_cli *c, struct scan *sc)
{
    struct naming nm = {0};
    int rc = 0;

    for (size_t i = 0; i < sc->n; i++)
        nm.n += sc->bans[i].kind == KIND_ACCOUNT;
    if (!nm.n)
        return 0;
    if (!(nm.accounts = malloc(nm.n * sizeof(*nm.accounts))))
        return sg_cli_fail("out of memory");
    nm.n = 0;
    for (size_t i = 0; i < sc->n; i++)
        if (sc->bans[i].kind == KIND_ACCOUNT)
            nm.accounts[nm.n++] = &sc->bans[i];
    qsort(nm.accounts, nm.n, sizeof(*nm.accounts), by_subject);
    rc = sg_cli_users_each_email(c, name_account, &nm);
    free(nm.accounts);
    return rc;
}

/* ---- bans list ---------------------------------------------------------- */

/* What a window counts per, as listed: the address, or the account's
 * email when a user has it (with_email) else "sha256:HASH". */
static const char *subject_text(const struct ban *b, bool with_email, char *buf,
                                size_t cap)
{
    if (b->kind == KIND_ADDRESS)
        return b->subject;
    if (with_email && b->email[0])
        return b->email;
    snprintf(buf, cap, HASH_TAG "%s", b->subject);
    return buf;
}

static json_object *ban_json(const struct sg_cli *c, const void *item)
{
    const struct ban *b = item;
    const struct sg_rate_policy *p = policy_of(c->cfg, b->policy);
    json_object *o = json_object_new_object();
    char buf[sizeof(HASH_TAG) + HASH_HEX];
    const char *subject = subject_text(b, false, buf, sizeof(buf));

    if (!o)
        return NULL;
    json_object_object_add(o, "policy",
                           json_object_new_string(policy_names[b->policy]));
    json_object_object_add(o, "kind",
                           json_object_new_string(kind_names[b->kind]));
    json_object_object_add(o, "subject",
                           sg_json_string(subject, strlen(subject)));
    if (b->kind == KIND_ACCOUNT)
        json_object_object_add(
            o, "email",
            b->email[0] ? sg_json_string(b->email, strlen(b->email)) : NULL);
    json_object_object_add(o, "count", json_object_new_int64(b->count));
    json_object_object_add(o, "limit", json_object_new_int(p->limit));
    json_object_object_add(o, "window_seconds",
                           json_object_new_int64(p->window_ms / 1000));
    json_object_object_add(o, "locked",
                           json_object_new_boolean(b->locked_until > 0));
    json_object_object_add(o, "locked_until",
                           b->locked_until ? sg_json_time(b->locked_until)
                                           : NULL);
    json_object_object_add(o, "expires_at",
                           b->expires_at ? sg_json_time(b->expires_at) : NULL);
    return o;
}

/* policy, kind, subject, count, limit, locked until ("-": open), expires
 * at ("-": never); tab separated. */
static void put_ban_line(const struct sg_cli *c, const void *item)
{
    const struct ban *b = item;
    char buf[sizeof(HASH_TAG) + HASH_HEX], t[SG_TIME_RFC3339_MAX];

    printf("%s\t%s\t", policy_names[b->policy], kind_names[b->kind]);
    sg_cli_put_field(subject_text(b, true, buf, sizeof(buf)), '\t');
    printf("%lld\t%d\t", b->count, policy_of(c->cfg, b->policy)->limit);
    printf("%s\t", b->locked_until ? sg_cli_rfc3339(b->locked_until, t) : "-");
    printf("%s\n", b->expires_at ? sg_cli_rfc3339(b->expires_at, t) : "-");
}

static int by_listing(const void *a, const void *b)
{
    const struct ban *x = a, *y = b;
    char bx[sizeof(HASH_TAG) + HASH_HEX], by[sizeof(HASH_TAG) + HASH_HEX];

    if (x->policy != y->policy)
        return x->policy - y->policy;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(subject_text(x, true, bx, sizeof(bx)),
                  subject_text(y, true, by, sizeof(by)));
}

int sg_cli_bans_list(struct sg_cli *c)
{
    struct scan sc = {0};
    size_t kept = 0;
    int rc = scan_windows(c, &sc);

    if (!rc)
        rc = name_accounts(c, &sc);
    for (size_t i = 0; !rc && i < sc.n; i++)
        if (sc.bans[i].count > 0) /* else aged out, not yet expired */
            sc.bans[kept++] = sc.bans[i];
    if (!rc && kept)
        qsort(sc.bans, kept, sizeof(*sc.bans), by_listing);
    if (!rc)
        rc = sg_cli_put_list(c, sc.bans, kept, sizeof(*sc.bans), put_ban_line,
                             ban_json);
    free(sc.bans);
    return rc;
}

/* ---- bans clear --------------------------------------------------------- */

/* The bucket of an address as sign-in counts it (an IPv6 address as its
 * block; "ADDR/N" as listed is taken as ADDR). False if arg is no IP
 * address. */
static bool address_bucket(const struct sg_cli *c, const char *arg,
                           char out[BUCKET_MAX + 1])
{
    char addr[INET6_ADDRSTRLEN + 1];
    unsigned char bin[16];
    size_t len = strcspn(arg, "/");

    if (len >= sizeof(addr))
        return false;
    memcpy(addr, arg, len);
    addr[len] = '\0';
    if (inet_pton(AF_INET, addr, bin) != 1 &&
        inet_pton(AF_INET6, addr, bin) != 1)
        return false;
    sg_client_bucket_of(addr, c->cfg->ipv6_prefix, out, BUCKET_MAX + 1);
    return true;
}

/* The subjects arg names, at most two (an email as typed and as
 * normalised): *kind and n of subjects[], 0 if it names none. */
static size_t target_subjects(const struct sg_cli *c, const char *arg,
                              enum kind *kind, char subjects[2][HASH_HEX + 1])
{
    char norm[SG_EMAIL_MAX + 1];
    size_t taglen = strlen(HASH_TAG);
    size_t n = 0;

    *kind = KIND_ACCOUNT;
    if (strncmp(arg, HASH_TAG, taglen) == 0 &&
        subject_ok(KIND_ACCOUNT, arg + taglen)) {
        memcpy(subjects[0], arg + taglen, HASH_HEX + 1);
        return 1;
    }
    if (strchr(arg, '@')) {
        if (account_hash(arg, subjects[n]) == SG_OK)
            n++;
        if (sg_email_normalize(c->email, arg, strlen(arg), norm,
                               sizeof(norm)) == SG_OK &&
            account_hash(norm, subjects[n]) == SG_OK &&
            (n == 0 || strcmp(subjects[0], subjects[n]) != 0))
            n++;
        return n;
    }
    *kind = KIND_ADDRESS;
    return address_bucket(c, arg, subjects[0]) ? 1 : 0;
}

/* Delete key; *cleared counts it if it was there. 0 or failure. */
static int clear_key(struct sg_cli *c, const char *key, long long *cleared)
{
    bool deleted;

    if (sg_store_limit_clear(c->store, key, &deleted) != SG_OK)
        return sg_cli_store_fail(c);
    *cleared += deleted;
    return 0;
}

static int clear_all(struct sg_cli *c, long long *cleared)
{
    struct scan sc = {0};
    int rc = scan_windows(c, &sc);

    for (size_t i = 0; !rc && i < sc.n; i++)
        rc = clear_key(c, sc.bans[i].key, cleared);
    free(sc.bans);
    return rc;
}

static int clear_one(struct sg_cli *c, const char *arg, long long *cleared)
{
    char subjects[2][HASH_HEX + 1], key[SG_KEY_MAX];
    enum kind kind;
    size_t n = target_subjects(c, arg, &kind, subjects);
    int rc = 0;

    if (!n)
        return sg_cli_fail_arg(
            "not an IP address, an email or " HASH_TAG "HASH", arg);
    for (size_t i = 0; !rc && i < n; i++)
        for (int p = 0; !rc && p < 2; p++) {
            if (window_key(key, c->cfg->key_prefix, p, kind, subjects[i]))
                return sg_cli_fail("the key_prefix is too long");
            rc = clear_key(c, key, cleared);
        }
    if (!rc && *cleared == 0)
        return sg_cli_fail_arg("no sign-in window to clear for", arg);
    return rc;
}

/* Print how many windows were deleted. */
int sg_cli_bans_clear(struct sg_cli *c)
{
    long long cleared = 0;
    int rc = c->all ? clear_all(c, &cleared)
                    : clear_one(c, c->operands[0], &cleared);

    if (rc)
        return rc;
    if (c->json)
        return sg_cli_put_json_count("cleared", cleared);
    printf("%lld\n", cleared);
    return 0;
}
