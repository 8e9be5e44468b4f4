/* store_users.c -- user records in Redis.
 *
 * A user is a hash under its own hash tag; the lowercased email points to
 * the id. Creation is one script that claims the email with SET NX and
 * writes the record, so concurrent registrations of one address cannot
 * both succeed. The email index and the user set are the only keys
 * outside a user's slot (see keys.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "store_impl.h"

static const char *const user_fields[] = {"id",    "email",      "name",
                                          "roles", "created_at", "password"};

/* The email index's key: the address itself on one Redis, its SHA-256 in
 * a cluster (keys.h). */
static int email_key(const struct sg_store *s, const char *email, char *out)
{
    char hash[65];

    if (!s->cluster)
        return sg_key_email(out, s->cfg->key_prefix, email);
    if (sg_sha256_hex(email, strlen(email), hash) != SG_OK)
        return SG_EINVAL;
    return sg_key_email_hashed(out, s->cfg->key_prefix, hash);
}

/* One command whose answer is only checked for an error. */
static int run(struct sg_store *s, int argc, const char **argv,
               redisReply **out)
{
    redisReply *r = sg_store_argv(s, argc, argv, NULL);

    if (!r)
        return SG_ESTORE;
    if (r->type == REDIS_REPLY_ERROR) {
        sg_log_error("redis: %s: %s", argv[0], r->str);
        freeReplyObject(r);
        return SG_ESTORE;
    }
    if (out)
        *out = r;
    else
        freeReplyObject(r);
    return SG_OK;
}

/* Registration in a cluster, where the email index, the user and the user
 * set live in three slots: the record and its place in the set first,
 * then the claim of the address (SET NX, which one registration wins),
 * and the loser removes what it wrote. A crash between the steps leaves
 * a record no address leads to (listed by `sessiongate user list`), never
 * an address that leads nowhere. */
static int user_create_cluster(struct sg_store *s, const char **argv)
{
    const char *hset[14] = {"HSET", argv[1]};
    const char *sadd[] = {"SADD", argv[2], argv[3]};
    const char *claim[] = {"SET", argv[0], argv[3], "NX"};
    const char *srem[] = {"SREM", argv[2], argv[3]};
    const char *del[] = {"DEL", argv[1]};
    redisReply *r;
    bool won;

    for (int i = 0; i < 12; i++)
        hset[2 + i] = argv[4 + i];
    if (run(s, 14, hset, NULL) != SG_OK || run(s, 3, sadd, NULL) != SG_OK ||
        run(s, 4, claim, &r) != SG_OK)
        return SG_ESTORE;
    won = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (won)
        return SG_OK;
    if (run(s, 3, srem, NULL) != SG_OK || run(s, 2, del, NULL) != SG_OK)
        return SG_ESTORE;
    return SG_EEXIST;
}

int sg_store_user_create(struct sg_store *s, const struct sg_user *u)
{
    const char *prefix = s->cfg->key_prefix;
    char email_key_buf[SG_KEY_MAX], user_key[SG_KEY_MAX];
    char users_key[SG_KEY_MAX], created[24];
    long long won;
    redisReply *r;
    int rc;

    if (email_key(s, u->email, email_key_buf) ||
        sg_key_user(user_key, prefix, u->id) || sg_key_users(users_key, prefix))
        return SG_ETOOBIG;
    snprintf(created, sizeof(created), "%lld", (long long)u->created_at);
    const char *argv[] = {email_key_buf, user_key, users_key,  u->id,
                          "id",          u->id,    "email",    u->email,
                          "name",        u->name,  "roles",    u->roles,
                          "created_at",  created,  "password", u->password};
    if (s->cluster)
        return user_create_cluster(s, argv);
    r = sg_store_eval(s, SG_SCRIPT_REGISTER, 3, (int)SG_ARRAY_LEN(argv), argv,
                      NULL);
    if (!r)
        return SG_ESTORE;
    rc = sg_store_reply_int(r, &won) ? (won ? SG_OK : SG_EEXIST) : SG_ESTORE;
    freeReplyObject(r);
    return rc;
}

/* Fill u from an HMGET reply over user_fields. */
static int parse_user(const redisReply *r, struct sg_user *u)
{
    long long created;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 6)
        return SG_ESTORE;
    if (r->element[0]->type == REDIS_REPLY_NIL)
        return SG_ENOTFOUND;
    memset(u, 0, sizeof(*u));
    if (!sg_store_reply_copy(r->element[0], u->id, sizeof(u->id)) ||
        !sg_store_reply_copy(r->element[1], u->email, sizeof(u->email)) ||
        !sg_store_reply_int(r->element[4], &created) ||
        !sg_store_reply_copy(r->element[5], u->password, sizeof(u->password)))
        return SG_ESTORE;
    sg_store_reply_copy(r->element[2], u->name, sizeof(u->name));
    sg_store_reply_copy(r->element[3], u->roles, sizeof(u->roles));
    u->created_at = created;
    return SG_OK;
}

int sg_store_user_by_id(struct sg_store *s, const char *uid, struct sg_user *u)
{
    char key[SG_KEY_MAX];
    const char *argv[8] = {"HMGET", key};
    redisReply *r;
    int rc;

    if (sg_key_user(key, s->cfg->key_prefix, uid))
        return SG_ENOTFOUND;
    for (size_t i = 0; i < SG_ARRAY_LEN(user_fields); i++)
        argv[2 + i] = user_fields[i];
    if (!(r = sg_store_argv(s, 8, argv, NULL)))
        return SG_ESTORE;
    rc = parse_user(r, u);
    freeReplyObject(r);
    return rc;
}

int sg_store_user_by_email(struct sg_store *s, const char *email,
                           struct sg_user *u)
{
    char key[SG_KEY_MAX], uid[SG_USER_ID_LEN + 1];
    const char *argv[] = {"GET", key};
    redisReply *r;
    bool found;

    if (email_key(s, email, key))
        return SG_ENOTFOUND;
    if (!(r = sg_store_argv(s, 2, argv, NULL)))
        return SG_ESTORE;
    found = sg_store_reply_copy(r, uid, sizeof(uid));
    freeReplyObject(r);
    return found ? sg_store_user_by_id(s, uid, u) : SG_ENOTFOUND;
}

/* One window's answer: allowed, remaining, reset from r[0..3). */
static bool parse_window(redisReply *const *r, struct sg_limit_check *c)
{
    long long v[3] = {0, 0, 0};

    for (int i = 0; i < 3; i++)
        if (!sg_store_reply_int(r[i], &v[i]))
            return false;
    c->allowed = v[0] == 1, c->remaining = v[1], c->reset_ms = v[2];
    return true;
}

/* One window of ratelimit.lua, counted with member (the sign-in's
 * entry, which session_create takes out of the account's window again). */
static int window_hit(struct sg_store *s, int64_t now,
                      struct sg_limit_check *c, const char *member)
{
    char nowb[24], limit[24], window[24];
    redisReply *r;
    int rc = SG_ESTORE;

    snprintf(nowb, sizeof(nowb), "%lld", (long long)now);
    snprintf(limit, sizeof(limit), "%d", c->limit);
    snprintf(window, sizeof(window), "%lld", (long long)c->window_ms);
    const char *argv[] = {c->key, nowb, limit, window, "hit", member};
    if (!(r = sg_store_eval(s, SG_SCRIPT_RATELIMIT, 1, 6, argv, NULL)))
        return SG_ESTORE;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        parse_window(r->element, c))
        rc = SG_OK;
    freeReplyObject(r);
    return rc;
}

/* Sign-in's reads in a cluster, where the two windows, the email index and
 * the user live in up to four slots: one call each, in the order
 * signin.lua runs them, and the same calls whether or not the address has
 * an account (an unknown one reads the keys of the id "-"). */
static int signin_cluster(struct sg_store *s, struct sg_signin *si,
                          const char *email)
{
    const char *prefix = s->cfg->key_prefix;
    char uid[SG_USER_ID_LEN + 1], user[SG_KEY_MAX], addrs[SG_KEY_MAX];
    const char *get[] = {"GET", email};
    const char *hmget[8] = {"HMGET", user};
    const char *zscore[] = {"ZSCORE", addrs, si->addr};
    long long seen = 0;
    redisReply *r;
    int rc;

    si->found = si->known = false;
    si->ip.allowed = si->account.allowed = true;
    si->ip.remaining = si->account.remaining = 0;
    si->ip.reset_ms = si->account.reset_ms = 0;
    if ((si->ip.key && window_hit(s, si->now, &si->ip, si->member)) ||
        (si->account.key &&
         window_hit(s, si->now, &si->account, si->member)) ||
        run(s, 2, get, &r) != SG_OK)
        return SG_ESTORE;
    if (!sg_store_reply_copy(r, uid, sizeof(uid)))
        memcpy(uid, "-", 2);
    freeReplyObject(r);
    if (sg_key_user(user, prefix, uid) ||
        sg_key_known_addrs(addrs, prefix, uid))
        return SG_EINVAL;
    for (int i = 0; i < 6; i++)
        hmget[2 + i] = user_fields[i];
    if (run(s, 8, hmget, &r) != SG_OK)
        return SG_ESTORE;
    rc = parse_user(r, &si->user);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 6 &&
        r->element[5]->type == REDIS_REPLY_STRING) /* the hash */
        sg_wipe(r->element[5]->str, r->element[5]->len);
    freeReplyObject(r);
    si->found = rc == SG_OK;
    if (rc != SG_OK && rc != SG_ENOTFOUND)
        return rc;
    if (run(s, 3, zscore, &r) != SG_OK)
        return SG_ESTORE;
    si->known = si->found && sg_store_reply_int(r, &seen) &&
                seen > si->now - SG_KNOWN_ADDR_MS;
    freeReplyObject(r);
    return SG_OK;
}

int sg_store_signin(struct sg_store *s, struct sg_signin *si)
{
    const char *prefix = s->cfg->key_prefix;
    char email[SG_KEY_MAX], head[SG_KEY_MAX];
    char now[24], ipl[24], ipw[24], acl[24], acw[24], known[24];
    long long k;
    redisReply *r, user;
    int rc = SG_ESTORE;

    if (email_key(s, si->email, email) || sg_key_user_head(head, prefix))
        return SG_EINVAL;
    snprintf(now, sizeof(now), "%lld", (long long)si->now);
    snprintf(ipl, sizeof(ipl), "%d", si->ip.key ? si->ip.limit : 0);
    snprintf(ipw, sizeof(ipw), "%lld", (long long)si->ip.window_ms);
    snprintf(acl, sizeof(acl), "%d", si->account.key ? si->account.limit : 0);
    snprintf(acw, sizeof(acw), "%lld", (long long)si->account.window_ms);
    snprintf(known, sizeof(known), "%lld", SG_KNOWN_ADDR_MS);
    sg_store_member(s, si->now, si->member);
    if (s->cluster)
        return signin_cluster(s, si, email);
    const char *argv[] = {si->ip.key ? si->ip.key : email,
                          si->account.key ? si->account.key : email,
                          email, now, ipl, ipw, si->member, acl, acw, head,
                          si->addr, known};
    if (!(r = sg_store_eval(s, SG_SCRIPT_SIGNIN, 3, (int)SG_ARRAY_LEN(argv),
                            argv, NULL)))
        return SG_ESTORE;
    si->found = si->known = false;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 13 &&
        parse_window(r->element, &si->ip) &&
        parse_window(r->element + 3, &si->account) &&
        sg_store_reply_int(r->element[6], &k)) {
        /* the six user fields, read as the HMGET reply they came from */
        user = (redisReply){.type = REDIS_REPLY_ARRAY, .elements = 6,
                            .element = r->element + 7};
        rc = parse_user(&user, &si->user);
        si->found = rc == SG_OK;
        si->known = si->found && k == 1;
        if (rc == SG_ENOTFOUND)
            rc = SG_OK;
        if (r->element[12]->type == REDIS_REPLY_STRING) /* the hash */
            sg_wipe(r->element[12]->str, r->element[12]->len);
    }
    freeReplyObject(r);
    return rc;
}

int sg_store_user_set(struct sg_store *s, const char *uid, const char *field,
                      const char *value)
{
    char key[SG_KEY_MAX];
    const char *argv[] = {"HSET", key, field, value};
    redisReply *r;
    int rc;

    if (sg_key_user(key, s->cfg->key_prefix, uid))
        return SG_EINVAL;
    if (!(r = sg_store_argv(s, 4, argv, NULL)))
        return SG_ESTORE;
    rc = r->type == REDIS_REPLY_ERROR ? SG_ESTORE : SG_OK;
    freeReplyObject(r);
    return rc;
}

int sg_store_user_delete(struct sg_store *s, const struct sg_user *u)
{
    const char *prefix = s->cfg->key_prefix;
    char user[SG_KEY_MAX], email[SG_KEY_MAX], users[SG_KEY_MAX];
    const char *del[] = {"DEL", user, email};
    const char *srem[] = {"SREM", users, u->id};
    redisReply *r;

    if (sg_key_user(user, prefix, u->id) || email_key(s, u->email, email) ||
        sg_key_users(users, prefix))
        return SG_EINVAL;
    if (s->cluster) { /* three slots: the address first, so that it never
                       * leads to a deleted record */
        const char *del_email[] = {"DEL", email}, *del_user[] = {"DEL", user};
        if (run(s, 2, del_email, NULL) != SG_OK ||
            run(s, 2, del_user, NULL) != SG_OK)
            return SG_ESTORE;
    } else {
        if (!(r = sg_store_argv(s, 3, del, NULL)))
            return SG_ESTORE;
        freeReplyObject(r);
    }
    if (!(r = sg_store_argv(s, 3, srem, NULL)))
        return SG_ESTORE;
    freeReplyObject(r);
    return SG_OK;
}

int sg_store_user_each(struct sg_store *s,
                       int (*fn)(void *arg, const char *uid), void *arg)
{
    char key[SG_KEY_MAX], cursor[32] = "0", uid[SG_USER_ID_LEN + 1];
    const char *argv[] = {"SSCAN", key, cursor, "COUNT", "100"};
    redisReply *r;

    sg_key_users(key, s->cfg->key_prefix);
    do {
        if (!(r = sg_store_argv(s, 5, argv, NULL)))
            return SG_ESTORE;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            !sg_store_reply_copy(r->element[0], cursor, sizeof(cursor))) {
            freeReplyObject(r);
            return SG_ESTORE;
        }
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            if (!sg_store_reply_copy(r->element[1]->element[i], uid,
                                     sizeof(uid)))
                continue;
            if (fn(arg, uid)) {
                freeReplyObject(r);
                return SG_OK;
            }
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return SG_OK;
}
