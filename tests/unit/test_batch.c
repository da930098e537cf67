/* Unit tests for common/domain/batch.c: a run of commands on one stream decided over one state
 * that each accepted command's events evolve gives every command the verdict and events it gets
 * decided alone over the stream's history up to its place; which commands may join a batch. */
#include "domain/batch.h"
#include "domain_fixture.h"
#include "run_suite.h"

#include <check.h>
#include <string.h>

#define RUN_MAX 16

static const char a1[][STREAM_ID_MAX + 1] = {"account-a1"};

struct step {
    struct command c;
    int64_t if_match;
};

/* The world of account a1 from nothing: history folded event by event. */
static void fold_history(struct world *w, const struct event *h, int n)
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < n; i++)
        world_evolve(w, a1, 1, &h[i]);
}

/* Decides run over one state (the batch) and each step alone over the history so far (the
 * reference); they must agree on verdict, detail and events. Returns the accepted count. */
static int check_run(const struct event *given, int given_n, const struct step *run, int n)
{
    static struct event history[RUN_MAX * EVENTS_MAX + 8];
    static struct world batch, alone;
    static struct decision got, want;
    memcpy(history, given, sizeof *given * (size_t)given_n);
    int h = given_n, accepted = 0;
    fold_history(&batch, history, h);
    for (int i = 0; i < n; i++) {
        struct err_detail why_got = {0}, why_want = {0};
        enum err rc_got = batch_decide(&run[i].c, run[i].if_match, &batch, &got, &why_got);
        fold_history(&alone, history, h);
        enum err rc_want = batch_decide(&run[i].c, run[i].if_match, &alone, &want, &why_want);
        ck_assert_int_eq(rc_got, rc_want);
        ck_assert_str_eq(why_got.detail, why_want.detail);
        ck_assert_int_eq(got.count, want.count);
        ck_assert_mem_eq(got.events, want.events, sizeof got.events[0] * (size_t)got.count);
        if (rc_got != ERR_OK)
            continue;
        batch_fold(&batch, a1, 1, &got);
        for (int j = 0; j < got.count; j++)
            history[h++] = got.events[j];
        accepted++;
    }
    return accepted;
}

#define STEP(...)                                                                                  \
    {                                                                                              \
        {__VA_ARGS__}, -1                                                                          \
    }
#define STEP_IF(v, ...)                                                                            \
    {                                                                                              \
        {__VA_ARGS__}, v                                                                           \
    }

START_TEST(test_refusal_mid_run_as_if_alone)
{
    struct event given[] = {OPENED("a1", G(1), "USD", 0), DEPOSITED("a1", G(2), 1000)};
    struct step run[] = {STEP(WITHDRAW(600)),
                         STEP(WITHDRAW(500)), /* 400 left: refused */
                         STEP_IF(3, DEPOSIT(50)),
                         STEP(WITHDRAW(300)),
                         STEP_IF(3, DEPOSIT(10)), /* stale: the run is at version 5 */
                         STEP(WITHDRAW(200)),
                         STEP(WITHDRAW(150)),
                         STEP(CLOSE),
                         STEP(DEPOSIT(1)) /* closed */};
    ck_assert_int_eq(check_run(given, 2, run, 9), 5);
}
END_TEST

/* The verdicts themselves, so that the reference above cannot agree with a wrong batch. */
START_TEST(test_run_evolves_balance_and_version)
{
    struct world w;
    struct event given[] = {OPENED("a1", G(1), "USD", 0), DEPOSITED("a1", G(2), 1000)};
    fold_history(&w, given, 2);
    struct command wd600 = {WITHDRAW(600)}, wd500 = {WITHDRAW(500)}, dep = {DEPOSIT(50)};
    struct decision d;
    struct err_detail why = {0};
    ck_assert_int_eq(batch_decide(&wd600, 2, &w, &d, &why), ERR_OK);
    ck_assert_int_eq(d.events[0].stream_version, 3);
    batch_fold(&w, a1, 1, &d);
    ck_assert_int_eq(w.account[0].balance_cents, 400);
    ck_assert_int_eq(batch_decide(&wd500, -1, &w, &d, &why), ERR_NO_FUNDS);
    ck_assert_int_eq(batch_decide(&dep, 2, &w, &d, &why), ERR_PRECONDITION);
    ck_assert_str_eq(why.detail, "stream is at version 3, not 2");
    ck_assert_int_eq(d.count, 0);
    ck_assert_int_eq(batch_decide(&dep, 3, &w, &d, &why), ERR_OK);
    ck_assert_int_eq(d.events[0].stream_version, 4);
}
END_TEST

START_TEST(test_joinable_commands)
{
    static const struct {
        struct command c;
        bool joinable;
    } cases[] = {
        {{DEPOSIT(1)}, true},
        {{WITHDRAW(1)}, true},
        {{CLOSE}, true},
        {{SHIP}, true},
        {{PLACE("o1", 1, 1)}, false},    /* skips its load */
        {{OPEN("a1", "USD", 0)}, false}, /* writes an account key */
        {{.type = CMD_FORGET_PERSONAL_DATA, .as.forget = {"a1"}}, false},
        {{CANCEL}, false}, /* may refund another stream */
        {{PAY(1)}, false},
        {{TRANSFER("a1", "a2", 1)}, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(batch_joinable(&cases[i].c) == cases[i].joinable, "case %zu", i);
}
END_TEST

START_TEST(test_target_version)
{
    struct world w = {0};
    w.order.version = 7;
    w.account[0].version = 3;
    struct command ship = {SHIP}, dep = {DEPOSIT(1)};
    ck_assert_int_eq(batch_target_version(&ship, &w), 7);
    ck_assert_int_eq(batch_target_version(&dep, &w), 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_refusal_mid_run_as_if_alone);
    tcase_add_test(tc, test_run_evolves_balance_and_version);
    tcase_add_test(tc, test_joinable_commands);
    tcase_add_test(tc, test_target_version);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
