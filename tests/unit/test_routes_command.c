/* Unit tests for command-service/routes.c: the route table against docs/openapi.yaml (every
 * POST there is a command route here, every route here is documented) and each command route
 * dispatching to its own command, seen in the 422 a body-less request gets. */
#include "command_fixture.h"
#include "routes.h"
#include "run_suite.h"

#include <ctype.h>

#define OPENAPI ORDERLY_SOURCE_MIGRATIONS "/../docs/openapi.yaml"
#define OPS_MAX 64

struct op {
    char method[8];
    char path[128];
};

/* The operations under openapi.yaml's paths: "  /path:" lines, then "    method:" lines. */
static int openapi_ops(struct op *ops)
{
    FILE *f = fopen(OPENAPI, "r");
    ck_assert_msg(f != NULL, "cannot open %s", OPENAPI);
    char line[512], path[128] = "";
    int n = 0;
    bool in_paths = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] && line[0] != ' ') {
            in_paths = strcmp(line, "paths:") == 0;
            continue;
        }
        if (!in_paths)
            continue;
        if (strncmp(line, "  /", 3) == 0 && line[strlen(line) - 1] == ':') {
            snprintf(path, sizeof path, "%.*s", (int)strlen(line) - 3, line + 2);
        } else if (strncmp(line, "    ", 4) == 0 && islower((unsigned char)line[4]) &&
                   strchr(line, ':') && strchr(line, ':')[1] == '\0' && path[0]) {
            const char *m = line + 4;
            if (strcmp(m, "get:") && strcmp(m, "post:"))
                continue; /* parameters: and the like */
            ck_assert_int_lt(n, OPS_MAX);
            snprintf(ops[n].method, sizeof ops[n].method, "%s", m[0] == 'g' ? "GET" : "POST");
            snprintf(ops[n].path, sizeof ops[n].path, "%s", path);
            n++;
        }
    }
    fclose(f);
    return n;
}

static const struct route *find_route(const char *method, const char *path)
{
    for (size_t i = 0; i < command_route_count; i++)
        if (strcmp(command_routes[i].method, method) == 0 &&
            strcmp(command_routes[i].pattern, path) == 0)
            return &command_routes[i];
    return NULL;
}

/* Commands are the API's only POSTs, so each one documented must be routed here. */
START_TEST(test_every_documented_post_is_routed)
{
    struct op ops[OPS_MAX];
    int n = openapi_ops(ops), posts = 0;
    ck_assert_int_gt(n, 10);
    for (int i = 0; i < n; i++) {
        if (strcmp(ops[i].method, "POST") != 0)
            continue;
        posts++;
        ck_assert_msg(find_route("POST", ops[i].path), "POST %s is not routed", ops[i].path);
    }
    ck_assert_int_eq(posts, 10);
}
END_TEST

START_TEST(test_every_route_is_documented)
{
    struct op ops[OPS_MAX];
    int n = openapi_ops(ops);
    for (size_t r = 0; r < command_route_count; r++) {
        bool found = false;
        for (int i = 0; i < n && !found; i++)
            found = strcmp(ops[i].method, command_routes[r].method) == 0 &&
                    strcmp(ops[i].path, command_routes[r].pattern) == 0;
        ck_assert_msg(found, "%s %s is not in %s", command_routes[r].method,
                      command_routes[r].pattern, OPENAPI);
        ck_assert(command_routes[r].handler != NULL);
        for (size_t s = 0; s < r; s++)
            ck_assert_msg(strcmp(command_routes[s].method, command_routes[r].method) ||
                              strcmp(command_routes[s].pattern, command_routes[r].pattern),
                          "%s twice", command_routes[r].pattern);
    }
}
END_TEST

/* Each route runs its own command: every command refuses a field it does not know, and the
 * 422 names the command that refused it. */
static const struct {
    const char *pattern, *detail;
} dispatch_cases[] = {
    {"/v1/orders", "PlaceOrder has invalid fields"},
    {"/v1/orders/{id}/pay", "PayOrder has invalid fields"},
    {"/v1/orders/{id}/ship", "ShipOrder has invalid fields"},
    {"/v1/orders/{id}/cancel", "CancelOrder has invalid fields"},
    {"/v1/accounts", "OpenAccount has invalid fields"},
    {"/v1/accounts/{id}/deposit", "Deposit has invalid fields"},
    {"/v1/accounts/{id}/withdraw", "Withdraw has invalid fields"},
    {"/v1/accounts/{id}/close", "CloseAccount has invalid fields"},
    {"/v1/accounts/{id}/forget", "ForgetPersonalData has invalid fields"},
    {"/v1/transfers", "TransferFunds has invalid fields"},
};

START_TEST(test_route_dispatches_its_command)
{
    const struct route *route = find_route("POST", dispatch_cases[_i].pattern);
    ck_assert_ptr_nonnull(route);
    char body[] = "{\"unknown_field\":1}";
    struct request r = {.method = "POST", .path = route->pattern, .route = route};
    r.params[0] = "x-1";
    r.body = body;
    r.body_len = strlen(body);
    route->handler(&r);
    char *detail = fixture_problem(&r, 422, "validation-error");
    ck_assert_str_eq(detail, dispatch_cases[_i].detail);
    free(detail);
    fixture_reset(&r);
}
END_TEST

START_TEST(test_operational_routes)
{
    ck_assert_ptr_nonnull(find_route("GET", "/healthz"));
    ck_assert_ptr_nonnull(find_route("GET", "/readyz"));
    ck_assert_ptr_nonnull(find_route("GET", "/metrics"));
    ck_assert(find_route("GET", "/healthz")->handler == http_handle_healthz);
    ck_assert(find_route("GET", "/metrics")->handler == http_handle_metrics);
    ck_assert_int_eq(command_route_count, 13);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("routes_command");
    TCase *tc = tcase_create("routes");
    tcase_add_test(tc, test_every_documented_post_is_routed);
    tcase_add_test(tc, test_every_route_is_documented);
    tcase_add_loop_test(tc, test_route_dispatches_its_command, 0,
                        (int)(sizeof dispatch_cases / sizeof dispatch_cases[0]));
    tcase_add_test(tc, test_operational_routes);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
