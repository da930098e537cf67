/* Unit tests for command-service/commands.c: the pure steps (If-Match, Idempotency-Key, the
 * target a command answers about, the text a key is bound to, header checks answering 422) and
 * the pipeline itself against a database that cannot be reached (404, 422, then 503). */
#include "codec/codec.h"
#include "command_fixture.h"
#include "commands.h"
#include "commands_internal.h"
#include "routes.h"
#include "run_suite.h"

#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *value;
    bool ok;
    int64_t version;
} if_match_cases[] = {
    {"\"3\"", true, 3},
    {"W/\"3\"", true, 3},
    {"3", true, 3},
    {"W/3", true, 3},
    {"\"0\"", true, 0},
    {"\"9223372036854775807\"", true, INT64_MAX},
    {"\"9223372036854775808\"", false, 0}, /* past int64: refused, not capped */
    {"", false, 0},
    {"\"\"", false, 0},
    {"W/", false, 0},
    {"\"-1\"", false, 0},
    {"\"3", false, 0},
    {"3\"", false, 0},
    {" 3", false, 0},
    {"\"3x\"", false, 0},
    {"*", false, 0},
    {"\"123456789012345678901234567890123\"", false, 0}, /* longer than the digit buffer */
};

START_TEST(test_if_match)
{
    int64_t v = -7;
    bool ok = commands_parse_if_match(if_match_cases[_i].value, &v);
    ck_assert_msg(ok == if_match_cases[_i].ok, "If-Match: %s", if_match_cases[_i].value);
    if (ok)
        ck_assert_int_eq(v, if_match_cases[_i].version);
}
END_TEST

START_TEST(test_idempotency_key)
{
    char longest[COMMANDS_IDEM_KEY_MAX + 2];
    memset(longest, 'k', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    ck_assert(!commands_idem_key_valid(longest)); /* 256 characters */
    longest[COMMANDS_IDEM_KEY_MAX] = '\0';
    ck_assert(commands_idem_key_valid(longest));
    ck_assert(commands_idem_key_valid("k"));
    ck_assert(commands_idem_key_valid("place-42!~"));
    ck_assert(!commands_idem_key_valid(""));
    ck_assert(!commands_idem_key_valid("a b"));
    ck_assert(!commands_idem_key_valid("a\tb"));
    ck_assert(!commands_idem_key_valid("a\x7f"));
    ck_assert(!commands_idem_key_valid("caf\xc3\xa9"));
}
END_TEST

static const struct {
    enum command_type type;
    const char *path_id, *body;
    const char *stream_id, *id;
    int status;
    const char *location;
} target_cases[] = {
    {CMD_PLACE_ORDER, NULL,
     "{\"order_id\":\"42\",\"customer_id\":\"c\",\"currency\":\"EUR\",\"items\":[{\"sku\":\"A\","
     "\"quantity\":1,\"unit_price_cents\":5}]}",
     "order-42", "42", 201, "/v1/orders/42"},
    {CMD_PAY_ORDER, "42", "{\"account_id\":\"a-1\",\"amount_cents\":5}", "order-42", "42", 200, ""},
    {CMD_SHIP_ORDER, "42", "{\"carrier\":\"DHL\",\"tracking_number\":\"J1\"}", "order-42", "42",
     200, ""},
    {CMD_CANCEL_ORDER, "42", "{\"reason\":\"late\"}", "order-42", "42", 200, ""},
    {CMD_OPEN_ACCOUNT, NULL, "{\"account_id\":\"a-1\",\"owner\":\"A\",\"currency\":\"EUR\"}",
     "account-a-1", "a-1", 201, "/v1/accounts/a-1"},
    {CMD_DEPOSIT, "a-1", "{\"amount_cents\":5}", "account-a-1", "a-1", 200, ""},
    {CMD_WITHDRAW, "a-1", "{\"amount_cents\":5}", "account-a-1", "a-1", 200, ""},
    {CMD_CLOSE_ACCOUNT, "a-1", "{}", "account-a-1", "a-1", 200, ""},
    {CMD_FORGET_PERSONAL_DATA, "a-1", "{}", "account-a-1", "a-1", 200, ""},
    /* A transfer answers about its source account, under the transfer's id. */
    {CMD_TRANSFER_FUNDS, NULL,
     "{\"transfer_id\":\"t-9\",\"from_account_id\":\"a-1\",\"to_account_id\":\"b-2\","
     "\"amount_cents\":5}",
     "account-a-1", "t-9", 201, "/v1/accounts/a-1"},
};

START_TEST(test_target)
{
    struct command c;
    struct err_detail why = {0};
    const char *body = target_cases[_i].body;
    ck_assert_int_eq(command_decode(target_cases[_i].type, target_cases[_i].path_id, body,
                                    strlen(body), &c, &why),
                     ERR_OK);
    struct command_target t;
    commands_target_of(&c, &t);
    ck_assert_str_eq(t.stream_id, target_cases[_i].stream_id);
    ck_assert_str_eq(t.id, target_cases[_i].id);
    ck_assert_int_eq(t.status, target_cases[_i].status);
    ck_assert_str_eq(t.location, target_cases[_i].location);
}
END_TEST

static char *text_of(const char *path, const char *body)
{
    struct request r = {.method = "POST", .path = path};
    char copy[256];
    if (body) {
        snprintf(copy, sizeof copy, "%s", body);
        r.body = copy;
        r.body_len = strlen(copy);
    }
    return commands_request_text(&r);
}

/* A key is bound to method, path and the body's meaning, not its spelling. */
START_TEST(test_request_text)
{
    char *a = text_of("/v1/accounts/a-1/deposit", "{\"reference\":\"r\", \"amount_cents\":5}");
    char *b = text_of("/v1/accounts/a-1/deposit", "{\"amount_cents\":5,\"reference\":\"r\"}");
    char *c = text_of("/v1/accounts/a-2/deposit", "{\"amount_cents\":5,\"reference\":\"r\"}");
    char *d = text_of("/v1/accounts/a-1/deposit", "{\"amount_cents\":6,\"reference\":\"r\"}");
    char *e = text_of("/v1/accounts/a-1/close", NULL);
    ck_assert_str_eq(a, "POST /v1/accounts/a-1/deposit\n{\"amount_cents\":5,\"reference\":\"r\"}");
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_str_ne(a, d);
    ck_assert_str_eq(e, "POST /v1/accounts/a-1/close\n");
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
}
END_TEST

/* Bad headers answer one 422 naming each of them; good ones are kept for the pipeline. */
START_TEST(test_read_headers)
{
    struct request r = {.method = "POST", .path = "/v1/accounts/a-1/close"};
    struct command_request cr = {&r, NULL, CMD_CLOSE_ACCOUNT, NULL, NULL, -1};
    ck_assert(!commands_read_headers(&cr, "bad key", "\"x\""));
    char *detail = fixture_problem(&r, 422, "validation-error");
    ck_assert_str_eq(detail, "invalid request headers");
    ck_assert_ptr_nonnull(strstr(r.response_body, "\"field\":\"Idempotency-Key\""));
    ck_assert_ptr_nonnull(strstr(r.response_body, "\"field\":\"If-Match\""));
    ck_assert_ptr_null(cr.idem_key);
    free(detail);
    fixture_reset(&r);
    ck_assert(!commands_read_headers(&cr, NULL, "3.0"));
    ck_assert_ptr_nonnull(strstr(r.response_body, "\"field\":\"If-Match\""));
    ck_assert_ptr_null(strstr(r.response_body, "Idempotency-Key"));
    fixture_reset(&r);
    ck_assert(commands_read_headers(&cr, "key-1", "W/\"3\""));
    ck_assert_int_eq(r.status, 0); /* nothing answered yet */
    ck_assert_str_eq(cr.idem_key, "key-1");
    ck_assert_int_eq(cr.if_match, 3);
    struct command_request plain = {&r, NULL, CMD_CLOSE_ACCOUNT, NULL, NULL, -1};
    ck_assert(commands_read_headers(&plain, NULL, NULL));
    ck_assert_ptr_null(plain.idem_key);
    ck_assert_int_eq(plain.if_match, -1);
}
END_TEST

/* ---- the pipeline with no database reachable ---- */

static const struct route *route_of(const char *pattern)
{
    for (size_t i = 0; i < command_route_count; i++)
        if (strcmp(command_routes[i].pattern, pattern) == 0)
            return &command_routes[i];
    ck_abort_msg("no route %s", pattern);
    return NULL;
}

/* Runs type as the server would for pattern with {id} = path_id; the caller resets r. */
static void handle(struct request *r, enum command_type type, const char *pattern,
                   const char *path_id, const char *body)
{
    static char copy[512];
    memset(r, 0, sizeof *r);
    r->method = "POST";
    r->path = pattern;
    r->route = route_of(pattern);
    r->params[0] = path_id;
    snprintf(r->correlation_id, sizeof r->correlation_id, "test");
    snprintf(copy, sizeof copy, "%s", body);
    r->body = copy;
    r->body_len = strlen(copy);
    command_handle(r, type);
}

static void pipeline_setup(void)
{
    struct db_settings s = {.pool_size = 2, .pool_wait_ms = 0, .lock_timeout_ms = 1000};
    commands_init(NOWHERE, NULL, &s);
}

static void pipeline_teardown(void)
{
    commands_shutdown();
}

/* A valid command that cannot reach the database is a 503 to retry, whether it loads first
 * (Deposit) or appends at once (PlaceOrder skips its first load). */
START_TEST(test_unreachable_database_is_503)
{
    struct request r;
    long errors = fixture_db_errors();
    handle(&r, CMD_DEPOSIT, "/v1/accounts/{id}/deposit", "a-1", "{\"amount_cents\":5}");
    free(fixture_problem(&r, 503, "db-unavailable"));
    ck_assert_str_eq(fixture_header(&r, "Retry-After"), "1");
    ck_assert_int_gt(fixture_db_errors(), errors);
    fixture_reset(&r);
    handle(&r, CMD_PLACE_ORDER, "/v1/orders", NULL,
           "{\"customer_id\":\"c\",\"currency\":\"EUR\",\"items\":[{\"sku\":\"A\","
           "\"quantity\":1,\"unit_price_cents\":5}]}");
    free(fixture_problem(&r, 503, "db-unavailable"));
    ck_assert_str_eq(fixture_header(&r, "Retry-After"), "1");
    ck_assert_ptr_null(fixture_header(&r, "Location"));
    fixture_reset(&r);
}
END_TEST

/* What is wrong with the request itself is answered before any connection is used. */
START_TEST(test_bad_requests_never_reach_the_database)
{
    struct request r;
    long errors = fixture_db_errors();
    handle(&r, CMD_DEPOSIT, "/v1/accounts/{id}/deposit", "a b", "{\"amount_cents\":5}");
    free(fixture_problem(&r, 404, "not-found"));
    fixture_reset(&r);
    handle(&r, CMD_DEPOSIT, "/v1/accounts/{id}/deposit", "a-1", "{\"amount_cents\":1.5}");
    char *detail = fixture_problem(&r, 422, "validation-error");
    ck_assert_str_eq(detail, "Deposit has invalid fields");
    ck_assert_ptr_nonnull(strstr(r.response_body, "\"field\":\"amount_cents\""));
    ck_assert_ptr_null(fixture_header(&r, "Retry-After"));
    free(detail);
    fixture_reset(&r);
    handle(&r, CMD_DEPOSIT, "/v1/accounts/{id}/deposit", "a-1", "{\"amount_cents\":");
    free(fixture_problem(&r, 400, "malformed-json"));
    fixture_reset(&r);
    ck_assert_int_eq(fixture_db_errors(), errors);
}
END_TEST

START_TEST(test_readyz_without_database)
{
    struct request r = {0};
    commands_handle_readyz(&r);
    free(fixture_problem(&r, 503, "db-unavailable"));
    ck_assert_str_eq(fixture_header(&r, "Retry-After"), "1");
    fixture_reset(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("commands");
    TCase *pure = tcase_create("pure");
    tcase_add_loop_test(pure, test_if_match, 0, COUNT(if_match_cases));
    tcase_add_test(pure, test_idempotency_key);
    tcase_add_loop_test(pure, test_target, 0, COUNT(target_cases));
    tcase_add_test(pure, test_request_text);
    tcase_add_test(pure, test_read_headers);
    suite_add_tcase(s, pure);
    TCase *pipeline = tcase_create("pipeline");
    tcase_add_unchecked_fixture(pipeline, pipeline_setup, pipeline_teardown);
    tcase_add_test(pipeline, test_unreachable_database_is_503);
    tcase_add_test(pipeline, test_bad_requests_never_reach_the_database);
    tcase_add_test(pipeline, test_readyz_without_database);
    suite_add_tcase(s, pipeline);
    return run_suite(s);
}
