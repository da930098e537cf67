/* Command answers: success, refusal, transient failure and idempotent replay. Refusals and
 * successes are stored with the key; malformed requests and 503s never are. */
#include "respond.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void respond_replay(struct command_request *cr, struct stored_response *stored)
{
    if (!stored->same_request) {
        free(stored->body);
        struct err_detail why = {0};
        err_set(&why, ERR_IDEM_MISMATCH, "Idempotency-Key was first used with another request");
        metrics_count_command(command_type_name(cr->type), "invalid");
        problem_send(cr->http, ERR_IDEM_MISMATCH, &why);
        return;
    }
    /* The server keeps the content type pointer, so answer with a literal. */
    bool is_problem = strcmp(stored->content_type, "application/problem+json") == 0;
    http_respond_raw(cr->http, stored->status,
                     is_problem ? "application/problem+json" : "application/json", stored->body,
                     stored->body_len);
    free(stored->body);
    if (stored->location[0])
        http_add_header(cr->http, "Location", stored->location);
    if (stored->etag[0])
        http_add_header(cr->http, "ETag", stored->etag);
    http_add_header(cr->http, "Idempotent-Replayed", "true");
    metrics_count_command(command_type_name(cr->type), "replayed");
}

void respond_replay_key(struct command_request *cr)
{
    struct stored_response stored = {0};
    bool found = false;
    enum err rc = store_idem_lookup(cr->db, cr->idem_key, cr->request_text, &stored, &found);
    if (rc != ERR_OK)
        respond_transient(cr, rc, NULL);
    else if (!found) /* the holder rolled back between our conflict and this read */
        respond_transient(cr, ERR_IDEM_BUSY, "the first request with this key did not finish");
    else
        respond_replay(cr, &stored);
}

bool respond_replay_if_stored(struct command_request *cr)
{
    struct stored_response stored = {0};
    bool found = false;
    if (store_idem_lookup(cr->db, cr->idem_key, cr->request_text, &stored, &found) != ERR_OK ||
        !found)
        return false;
    respond_replay(cr, &stored);
    return true;
}

void respond_refusal(struct command_request *cr, enum err e, const struct err_detail *why)
{
    if (cr->idem_key) {
        size_t len;
        char *body = problem_render(e, why, &len);
        bool key_taken = false;
        enum err rc = store_idem_save(cr->db, cr->idem_key, cr->request_text, err_status(e),
                                      "application/problem+json", body, &key_taken);
        free(body);
        if (rc != ERR_OK) {
            respond_transient(cr, rc, NULL);
            return;
        }
        if (key_taken) {
            respond_replay_key(cr);
            return;
        }
    }
    metrics_count_command(command_type_name(cr->type), "refused");
    problem_send(cr->http, e, why);
}

void respond_transient(struct command_request *cr, enum err e, const char *detail)
{
    struct err_detail why = {0};
    if (detail)
        err_set(&why, e, "%s", detail);
    metrics_count_command(command_type_name(cr->type), "error");
    problem_send(cr->http, e, detail ? &why : NULL);
    http_add_header(cr->http, "Retry-After", "1");
}

void respond_success(struct command_request *cr, int status, const char *location, const char *etag,
                     char *body, size_t len)
{
    http_respond_raw(cr->http, status, "application/json", body, len);
    free(body);
    if (location)
        http_add_header(cr->http, "Location", location);
    http_add_header(cr->http, "ETag", etag);
    metrics_count_command(command_type_name(cr->type), "ok");
}
