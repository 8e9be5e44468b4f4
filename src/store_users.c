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

#include "keys.h"
#include "store_impl.h"

static const char *const user_fields[] = {"id",    "email",      "name",
                                          "roles", "created_at", "password"};

int sg_store_user_create(struct sg_store *s, const struct sg_user *u)
{
    const char *prefix = s->cfg->key_prefix;
    char email_key[SG_KEY_MAX], user_key[SG_KEY_MAX], users_key[SG_KEY_MAX];
    char created[24];
    long long won;
    redisReply *r;
    int rc;

    if (sg_key_email(email_key, prefix, u->email) ||
        sg_key_user(user_key, prefix, u->id) || sg_key_users(users_key, prefix))
        return SG_ETOOBIG;
    snprintf(created, sizeof(created), "%lld", (long long)u->created_at);
    const char *argv[] = {email_key,    user_key, users_key,  u->id,
                          "id",         u->id,    "email",    u->email,
                          "name",       u->name,  "roles",    u->roles,
                          "created_at", created,  "password", u->password};
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

    if (sg_key_email(key, s->cfg->key_prefix, email))
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

int sg_store_signin(struct sg_store *s, struct sg_signin *si)
{
    const char *prefix = s->cfg->key_prefix;
    char email[SG_KEY_MAX], head[SG_KEY_MAX];
    char now[24], ipl[24], ipw[24], acl[24], acw[24], known[24];
    long long k;
    redisReply *r, user;
    int rc = SG_ESTORE;

    if (sg_key_email(email, prefix, si->email) || sg_key_user_head(head, prefix))
        return SG_EINVAL;
    snprintf(now, sizeof(now), "%lld", (long long)si->now);
    snprintf(ipl, sizeof(ipl), "%d", si->ip.key ? si->ip.limit : 0);
    snprintf(ipw, sizeof(ipw), "%lld", (long long)si->ip.window_ms);
    snprintf(acl, sizeof(acl), "%d", si->account.key ? si->account.limit : 0);
    snprintf(acw, sizeof(acw), "%lld", (long long)si->account.window_ms);
    snprintf(known, sizeof(known), "%lld", SG_KNOWN_ADDR_MS);
    sg_store_member(s, si->now, si->member);
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
            OPENSSL_cleanse(r->element[12]->str, r->element[12]->len);
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

    if (sg_key_user(user, prefix, u->id) ||
        sg_key_email(email, prefix, u->email) || sg_key_users(users, prefix))
        return SG_EINVAL;
    if (!(r = sg_store_argv(s, 3, del, NULL)))
        return SG_ESTORE;
    freeReplyObject(r);
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
