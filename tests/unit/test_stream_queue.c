/* Unit tests for command-service/stream_queue.c: per-stream turns in order of arrival, the
 * deadline, and two-stream commands that cannot deadlock. */
#include "stream_queue.h"

#include "run_suite.h"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#define WAITERS 6

static const char one[][STREAM_ID_MAX + 1] = {"account-hot"};

static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static int order[WAITERS], order_len;

static void *take_turn(void *arg)
{
    int me = (int)(intptr_t)arg;
    struct stream_turns t;
    ck_assert(stream_queue_enter(&t, one, 1, 60000));
    pthread_mutex_lock(&order_mu);
    order[order_len++] = me;
    pthread_mutex_unlock(&order_mu);
    stream_queue_leave(&t);
    return NULL;
}

static void wait_for_waiting(long n)
{
    struct stream_queue_stats s;
    for (stream_queue_stats(&s); s.waiting < n; stream_queue_stats(&s))
        sched_yield();
}

/* Each command queues only once the one before it is queued: the turns must come in exactly
 * that order, whatever order the scheduler wakes threads in. */
START_TEST(test_turns_follow_arrival)
{
    struct stream_turns held;
    ck_assert(stream_queue_enter(&held, one, 1, 0));
    pthread_t th[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        pthread_create(&th[i], NULL, take_turn, (void *)(intptr_t)i);
        wait_for_waiting(i + 1);
    }
    ck_assert_int_eq(order_len, 0); /* nobody overtakes the holder */
    stream_queue_leave(&held);
    for (int i = 0; i < WAITERS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(order_len, WAITERS);
    for (int i = 0; i < WAITERS; i++)
        ck_assert_int_eq(order[i], i);
    struct stream_queue_stats s;
    stream_queue_stats(&s);
    ck_assert_int_eq(s.waiting, 0);
}
END_TEST

START_TEST(test_deadline_gives_up_holding_nothing)
{
    static const char two[][STREAM_ID_MAX + 1] = {"account-free", "account-busy"};
    static const char busy[][STREAM_ID_MAX + 1] = {"account-busy"};
    static const char free_one[][STREAM_ID_MAX + 1] = {"account-free"};
    struct stream_turns held, t;
    struct stream_queue_stats before, after;
    stream_queue_stats(&before);
    ck_assert(stream_queue_enter(&held, busy, 1, 0));
    ck_assert(!stream_queue_enter(&t, two, 2, 20)); /* waits 20 ms, then gives up */
    ck_assert(!stream_queue_enter(&t, busy, 1, 0)); /* 0: a busy stream is not waited for */
    ck_assert_int_eq(t.n, 0);
    /* The free stream taken on the way was given back. */
    ck_assert(stream_queue_enter(&t, free_one, 1, 0));
    stream_queue_leave(&t);
    stream_queue_leave(&held);
    stream_queue_stats(&after);
    ck_assert_uint_eq(after.timeouts - before.timeouts, 2);
    ck_assert_int_eq(after.waiting, 0);
}
END_TEST

START_TEST(test_same_stream_twice_is_one_turn)
{
    static const char self[][STREAM_ID_MAX + 1] = {"account-self", "account-self"};
    struct stream_turns t;
    ck_assert(stream_queue_enter(&t, self, 2, 0));
    ck_assert_int_eq(t.n, 1);
    stream_queue_leave(&t);
}
END_TEST

#define ROUNDS 2000
static void *transfer_loop(void *arg)
{
    static const char ab[][STREAM_ID_MAX + 1] = {"account-a", "account-b"};
    static const char ba[][STREAM_ID_MAX + 1] = {"account-b", "account-a"};
    const char(*ids)[STREAM_ID_MAX + 1] = arg ? ab : ba;
    for (int i = 0; i < ROUNDS; i++) {
        struct stream_turns t;
        ck_assert(stream_queue_enter(&t, ids, 2, 60000));
        stream_queue_leave(&t);
    }
    return NULL;
}

/* Opposite transfers between the same two accounts: taken in stream id order, they finish. */
START_TEST(test_opposite_pairs_do_not_deadlock)
{
    pthread_t a, b;
    pthread_create(&a, NULL, transfer_loop, (void *)1);
    pthread_create(&b, NULL, transfer_loop, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    struct stream_queue_stats s;
    stream_queue_stats(&s);
    ck_assert_int_eq(s.waiting, 0);
}
END_TEST

/* More distinct streams than the table has slots, all held at once: by pigeonhole some share
 * a slot, and still none waits for another (a command never queues behind an unrelated
 * stream), and each turn comes free again when its holder leaves. */
#define DISTINCT 3000
START_TEST(test_streams_sharing_a_slot_never_wait)
{
    static struct stream_turns held[DISTINCT];
    char ids[1][STREAM_ID_MAX + 1];
    for (int i = 0; i < DISTINCT; i++) {
        snprintf(ids[0], sizeof ids[0], "order-%d", i);
        ck_assert_msg(stream_queue_enter(&held[i], (const char(*)[STREAM_ID_MAX + 1]) ids, 1, 0),
                      "%s waited for another stream's turn", ids[0]);
    }
    snprintf(ids[0], sizeof ids[0], "order-%d", DISTINCT / 2);
    struct stream_turns again;
    ck_assert(!stream_queue_enter(&again, (const char(*)[STREAM_ID_MAX + 1]) ids, 1, 0));
    for (int i = 0; i < DISTINCT; i++)
        stream_queue_leave(&held[i]);
    ck_assert(stream_queue_enter(&again, (const char(*)[STREAM_ID_MAX + 1]) ids, 1, 0));
    stream_queue_leave(&again);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stream_queue");
    TCase *tc = tcase_create("turns");
    tcase_add_test(tc, test_turns_follow_arrival);
    tcase_add_test(tc, test_deadline_gives_up_holding_nothing);
    tcase_add_test(tc, test_same_stream_twice_is_one_turn);
    tcase_add_test(tc, test_opposite_pairs_do_not_deadlock);
    tcase_add_test(tc, test_streams_sharing_a_slot_never_wait);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
