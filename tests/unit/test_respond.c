/* Unit tests for command-service/respond.c: how a command's outcome becomes an answer (status,
 * content type, Location, ETag, Retry-After, Idempotent-Replayed, problem bodies), and what is
 * answered when the key store cannot be reached. */
#include "command_fixture.h"
#include "respond.h"
#include "run_suite.h"
#include "store/store.h"
#include "xalloc.h"

static struct db_config nowhere_config;

/* A Deposit request in memory; db is a lazy connection to a server that does not exist. */
static struct command_request request_new(struct request *http, const char *key)
{
    memset(http, 0, sizeof *http);
    http->method = "POST";
    http->path = "/v1/accounts/a-1/deposit";
    struct command_request cr = {http, db_conn_new(&nowhere_config, DB_LAZY),        CMD_DEPOSIT,
                                 key,  xstrdup("POST /v1/accounts/a-1/deposit\n{}"), -1};
    return cr;
}

static void request_free(struct command_request *cr)
{
    fixture_reset(cr->http);
    db_conn_free(cr->db);
    free(cr->request_text);
}

START_TEST(test_success_sets_etag_and_location)
{
    struct request http;
    struct command_request cr = request_new(&http, NULL);
    respond_success(&cr, 201, "/v1/accounts/a-1", "\"1\"", xstrdup("{\"version\":1}"), 13);
    ck_assert_int_eq(http.status, 201);
    ck_assert_str_eq(http.content_type, "application/json");
    ck_assert_str_eq(http.response_body, "{\"version\":1}");
    ck_assert_str_eq(fixture_header(&http, "Location"), "/v1/accounts/a-1");
    ck_assert_str_eq(fixture_header(&http, "ETag"), "\"1\"");
    ck_assert_ptr_null(fixture_header(&http, "Retry-After"));
    fixture_reset(&http);
    respond_success(&cr, 200, NULL, "\"2\"", xstrdup("{}"), 2);
    ck_assert_int_eq(http.status, 200);
    ck_assert_ptr_null(fixture_header(&http, "Location"));
    ck_assert_str_eq(fixture_header(&http, "ETag"), "\"2\"");
    request_free(&cr);
}
END_TEST

/* A transient failure always says when to retry; the detail is the caller's or the title. */
START_TEST(test_transient_adds_retry_after)
{
    struct request http;
    struct command_request cr = request_new(&http, "k-1");
    respond_transient(&cr, ERR_DB_DOWN, "no connection came free");
    char *detail = fixture_problem(&http, 503, "db-unavailable");
    ck_assert_str_eq(detail, "no connection came free");
    ck_assert_str_eq(fixture_header(&http, "Retry-After"), "1");
    free(detail);
    fixture_reset(&http);
    respond_transient(&cr, ERR_CONFLICT, NULL);
    detail = fixture_problem(&http, 409, "concurrency-conflict");
    ck_assert_str_eq(detail, "too many concurrent writers");
    ck_assert_str_eq(fixture_header(&http, "Retry-After"), "1");
    free(detail);
    request_free(&cr);
}
END_TEST

/* Without a key a refusal is final: no Retry-After, nothing stored, no database touched. */
START_TEST(test_refusal_without_key)
{
    struct request http;
    struct command_request cr = request_new(&http, NULL);
    struct err_detail why = {0};
    err_set(&why, ERR_NO_FUNDS, "balance 5 is below 10");
    long errors = fixture_db_errors();
    respond_refusal(&cr, ERR_NO_FUNDS, &why);
    char *detail = fixture_problem(&http, 409, "insufficient-funds");
    ck_assert_str_eq(detail, "balance 5 is below 10");
    ck_assert_ptr_null(fixture_header(&http, "Retry-After"));
    ck_assert_int_eq(fixture_db_errors(), errors);
    free(detail);
    request_free(&cr);
}
END_TEST

/* With a key the refusal must be stored before it is answered; a key store that cannot be
 * reached turns it into a 503 to retry, never an unstored 409. */
START_TEST(test_refusal_unstored_is_transient)
{
    struct request http;
    struct command_request cr = request_new(&http, "k-2");
    struct err_detail why = {0};
    err_set(&why, ERR_NO_FUNDS, "balance 5 is below 10");
    respond_refusal(&cr, ERR_NO_FUNDS, &why);
    free(fixture_problem(&http, 503, "db-unavailable"));
    ck_assert_str_eq(fixture_header(&http, "Retry-After"), "1");
    request_free(&cr);
}
END_TEST

static struct stored_response stored_of(bool same, int status, const char *ct, const char *body,
                                        const char *location, const char *etag)
{
    struct stored_response s = {.same_request = same, .status = status};
    snprintf(s.content_type, sizeof s.content_type, "%s", ct);
    snprintf(s.location, sizeof s.location, "%s", location);
    snprintf(s.etag, sizeof s.etag, "%s", etag);
    s.body = xstrdup(body);
    s.body_len = strlen(body);
    return s;
}

START_TEST(test_replay_of_success)
{
    struct request http;
    struct command_request cr = request_new(&http, "k-3");
    struct stored_response s =
        stored_of(true, 201, "application/json", "{\"version\":1}", "/v1/orders/9", "\"1\"");
    respond_replay(&cr, &s);
    ck_assert_int_eq(http.status, 201);
    ck_assert_str_eq(http.content_type, "application/json");
    ck_assert_str_eq(http.response_body, "{\"version\":1}");
    ck_assert_str_eq(fixture_header(&http, "Location"), "/v1/orders/9");
    ck_assert_str_eq(fixture_header(&http, "ETag"), "\"1\"");
    ck_assert_str_eq(fixture_header(&http, "Idempotent-Replayed"), "true");
    request_free(&cr);
}
END_TEST

START_TEST(test_replay_of_refusal)
{
    struct request http;
    struct command_request cr = request_new(&http, "k-4");
    const char *body = "{\"status\":409,\"type\":\"x/insufficient-funds\"}";
    struct stored_response s = stored_of(true, 409, "application/problem+json", body, "", "");
    respond_replay(&cr, &s);
    ck_assert_int_eq(http.status, 409);
    ck_assert_str_eq(http.content_type, "application/problem+json");
    ck_assert_str_eq(http.response_body, body);
    ck_assert_ptr_null(fixture_header(&http, "Location"));
    ck_assert_ptr_null(fixture_header(&http, "ETag"));
    ck_assert_str_eq(fixture_header(&http, "Idempotent-Replayed"), "true");
    request_free(&cr);
}
END_TEST

/* A key first used with another request answers 422 and never the other request's answer. */
START_TEST(test_replay_of_other_request)
{
    struct request http;
    struct command_request cr = request_new(&http, "k-5");
    struct stored_response s =
        stored_of(false, 201, "application/json", "{\"secret\":1}", "/v1/orders/9", "\"1\"");
    respond_replay(&cr, &s);
    char *detail = fixture_problem(&http, 422, "idempotency-key-reused");
    ck_assert_str_eq(detail, "Idempotency-Key was first used with another request");
    ck_assert_ptr_null(strstr(http.response_body, "secret"));
    ck_assert_ptr_null(fixture_header(&http, "Idempotent-Replayed"));
    ck_assert_ptr_null(fixture_header(&http, "Location"));
    free(detail);
    request_free(&cr);
}
END_TEST

/* Looking a key up again with no database: 503 from replay_key; nothing answered (the caller
 * retries the command) from replay_if_stored. */
START_TEST(test_replay_lookups_without_database)
{
    struct request http;
    struct command_request cr = request_new(&http, "k-6");
    ck_assert(!respond_replay_if_stored(&cr));
    ck_assert_int_eq(http.status, 0);
    ck_assert_ptr_null(http.response_body);
    respond_replay_key(&cr);
    free(fixture_problem(&http, 503, "db-unavailable"));
    ck_assert_str_eq(fixture_header(&http, "Retry-After"), "1");
    request_free(&cr);
}
END_TEST

int main(void)
{
    store_db_config(&nowhere_config, NOWHERE, "orderly-test", NULL);
    Suite *s = suite_create("respond");
    TCase *tc = tcase_create("respond");
    tcase_add_test(tc, test_success_sets_etag_and_location);
    tcase_add_test(tc, test_transient_adds_retry_after);
    tcase_add_test(tc, test_refusal_without_key);
    tcase_add_test(tc, test_refusal_unstored_is_transient);
    tcase_add_test(tc, test_replay_of_success);
    tcase_add_test(tc, test_replay_of_refusal);
    tcase_add_test(tc, test_replay_of_other_request);
    tcase_add_test(tc, test_replay_lookups_without_database);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
