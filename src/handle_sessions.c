/* handle_sessions.c -- GET/DELETE /sessions, DELETE /sessions/{id}, and
 * the admin routes GET/DELETE /admin/users/{user_id}/sessions.
 *
 * Ids in paths are checked for their form before anything else: a
 * malformed id is "not found", the same answer as another user's
 * session, so the API never tells whether a session exists.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "handlers.h"
#include "json.h"

/* Copy path parameter i into out if it is exactly len lowercase hex. */
static bool hex_param(const struct sg_request *req, int i, size_t len,
                      char *out)
{
    if (req->param_lens[i] != len)
        return false;
    for (size_t k = 0; k < len; k++) {
        char c = req->params[i][k];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    memcpy(out, req->params[i], len);
    out[len] = '\0';
    return true;
}

static int list_answer(struct sg_response *res, struct sg_auth_call *c,
                       const char *current)
{
    json_object *data = json_object_new_object();
    json_object *list = json_object_new_array();

    if (!data || !list) {
        json_object_put(data);
        json_object_put(list);
        free(c->sessions);
        return SG_ENOMEM;
    }
    for (size_t i = 0; i < c->nsessions; i++)
        json_object_array_add(
            list,
            sg_json_session(&c->sessions[i],
                            current && !strcmp(c->sessions[i].id, current)));
    json_object_object_add(data, "sessions", list);
    json_object_object_add(data, "count",
                           json_object_new_int64((int64_t)c->nsessions));
    free(c->sessions);
    return sg_response_ok(res, 200, data);
}

static int terminated_answer(struct sg_response *res, long long n)
{
    json_object *data = json_object_new_object();

    if (!data)
        return SG_ENOMEM;
    json_object_object_add(data, "terminated", json_object_new_int64(n));
    return sg_response_ok(res, 200, data);
}

int sg_handle_sessions_list(struct sg_ctx *ctx, struct sg_request *req,
                            struct sg_response *res)
{
    struct sg_auth_call c = {0};

    if (!sg_auth_run(ctx, req, res, SG_OP_SESSIONS_LIST, &c))
        return SG_OK;
    return list_answer(res, &c, req->claims->sid);
}

int sg_handle_session_end(struct sg_ctx *ctx, struct sg_request *req,
                          struct sg_response *res)
{
    char sid[SG_SESSION_ID_LEN + 1];
    struct sg_auth_call c = {.target_sid = sid};

    /* an id of the wrong form still authenticates first: 401 before 404 */
    if (!hex_param(req, 0, SG_SESSION_ID_LEN, sid))
        strcpy(sid, "-");
    if (!sg_auth_run(ctx, req, res, SG_OP_SESSION_END, &c))
        return SG_OK;
    return terminated_answer(res, 1);
}

int sg_handle_sessions_end(struct sg_ctx *ctx, struct sg_request *req,
                           struct sg_response *res)
{
    struct sg_auth_call c = {0};

    if (!sg_auth_run(ctx, req, res, SG_OP_SESSIONS_END, &c))
        return SG_OK;
    return terminated_answer(res, c.terminated);
}

/* The admin routes: the target user id from the path; forbidden unless
 * the token carries role admin (answered after authentication). */
static void admin_call(struct sg_request *req, struct sg_auth_call *c,
                       char *uid)
{
    c->forbidden = !sg_token_has_role(req->claims, "admin");
    if (!hex_param(req, 0, SG_USER_ID_LEN, uid))
        strcpy(uid, "-");
    c->target_uid = uid;
}

int sg_handle_admin_sessions_list(struct sg_ctx *ctx, struct sg_request *req,
                                  struct sg_response *res)
{
    char uid[SG_USER_ID_LEN + 1];
    struct sg_auth_call c = {0};

    admin_call(req, &c, uid);
    if (!sg_auth_run(ctx, req, res, SG_OP_SESSIONS_LIST, &c))
        return SG_OK;
    return list_answer(res, &c, NULL);
}

int sg_handle_admin_sessions_end(struct sg_ctx *ctx, struct sg_request *req,
                                 struct sg_response *res)
{
    char uid[SG_USER_ID_LEN + 1];
    struct sg_auth_call c = {0};

    admin_call(req, &c, uid);
    if (!sg_auth_run(ctx, req, res, SG_OP_SESSIONS_END, &c))
        return SG_OK;
    return terminated_answer(res, c.terminated);
}
