/* handle_sessions.c -- GET/DELETE /sessions, DELETE /sessions/{id}, and
 * the admin routes GET/DELETE /admin/users/{user_id}/sessions.
 *
 * The table in app.c authenticates each of them (the admin routes with
 * role admin) and runs its store operation before the handler, which only
 * renders: an id in the path of the wrong form names nothing there, so it
 * is "not found", the same answer as another user's session, and the API
 * never tells whether a session exists.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "handlers.h"
#include "json.h"

/* GET /sessions and GET /admin/users/{user_id}/sessions */
int sg_handle_sessions_list(struct sg_ctx *ctx, struct sg_request *req,
                            struct sg_response *res, struct sg_auth_call *c)
{
    /* the caller's own list marks the session it is using */
    const char *current = c->target_uid ? NULL : req->claims->sid;
    json_object *data = json_object_new_object();
    json_object *list = json_object_new_array();

    if (!data || !list) {
        json_object_put(data);
        json_object_put(list);
        return SG_ENOMEM;
    }
    if (c->target_uid)
        sg_audit_admin(ctx, req, "list_sessions", c->target_uid);
    for (size_t i = 0; i < c->nsessions; i++)
        json_object_array_add(
            list,
            sg_json_session(&c->sessions[i],
                            current && !strcmp(c->sessions[i].id, current)));
    json_object_object_add(data, "sessions", list);
    json_object_object_add(data, "count",
                           json_object_new_int64((int64_t)c->nsessions));
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

/* DELETE /sessions/{id} */
int sg_handle_session_end(struct sg_ctx *ctx, struct sg_request *req,
                          struct sg_response *res, struct sg_auth_call *c)
{
    sg_audit_session_end(ctx, req, SG_END_USER, c->uid, c->target_sid, 1);
    return terminated_answer(res, 1);
}

/* DELETE /sessions and DELETE /admin/users/{user_id}/sessions */
int sg_handle_sessions_end(struct sg_ctx *ctx, struct sg_request *req,
                           struct sg_response *res, struct sg_auth_call *c)
{
    sg_audit_session_end(ctx, req, c->target_uid ? SG_END_ADMIN : SG_END_USER,
                         c->target_uid ? c->target_uid : c->uid, NULL,
                         c->terminated);
    return terminated_answer(res, c->terminated);
}
