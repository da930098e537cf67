/* Unit tests for command-service/stream_queue.c's batches: the holder of a stream's turn takes
 * the joinable commands waiting behind it, oldest first, stopping at the first it cannot take;
 * they return answered without ever holding the turn, and the rest keep their order. */
#include "stream_queue.h"

#include "run_suite.h"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#define WAITERS 5

/* A waiter: its joinable payload (NULL: it needs the turn) and how its wait ended. */
struct waiter {
    const char *stream;
    const char *payload;
    enum stream_turn got;
    int order; /* when it got the turn (HELD), counted from 1 */
};

static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static int turns_given;

static void *wait_turn(void *arg)
{
    struct waiter *w = arg;
    struct stream_turns t;
    w->got = stream_queue_enter_joinable(&t, w->stream, 60000, (void *)w->payload);
    if (w->got == STREAM_TURN_HELD) {
        pthread_mutex_lock(&order_mu);
        w->order = ++turns_given;
        pthread_mutex_unlock(&order_mu);
        stream_queue_leave(&t);
    }
    return NULL;
}

static void wait_for_waiting(long n)
{
    struct stream_queue_stats s;
    for (stream_queue_stats(&s); s.waiting < n; stream_queue_stats(&s))
        sched_yield();
}

/* Takes payloads that start with 'j' ("joinable"). */
static bool fits(void *cls, void *joinable)
{
    int *calls = cls;
    ++*calls;
    return ((const char *)joinable)[0] == 'j';
}

/* Queues ws in order behind a holder of stream, then has the holder take up to max. */
static int queue_and_take(struct waiter *ws, int n, const char *stream, int max, pthread_t *th,
                          struct stream_turns *held, struct stream_taken *taken)
{
    ck_assert_int_eq(stream_queue_enter_joinable(held, stream, 0, NULL), STREAM_TURN_HELD);
    for (int i = 0; i < n; i++) {
        pthread_create(&th[i], NULL, wait_turn, &ws[i]);
        wait_for_waiting(i + 1);
    }
    int calls = 0;
    taken->n = 0;
    return stream_queue_take(held, fits, &calls, taken, max);
}

START_TEST(test_take_stops_at_the_first_it_cannot_take)
{
    struct waiter ws[WAITERS] = {{"account-t1", "j0", 0, 0},
                                 {"account-t1", "j1", 0, 0},
                                 {"account-t1", NULL, 0, 0}, /* needs the turn */
                                 {"account-t1", "j3", 0, 0},
                                 {"account-t1", "x4", 0, 0}};
    pthread_t th[WAITERS];
    struct stream_turns held;
    struct stream_taken taken;
    turns_given = 0;
    ck_assert_int_eq(queue_and_take(ws, WAITERS, "account-t1", 8, th, &held, &taken), 2);
    ck_assert_str_eq(taken.joinable[0], "j0");
    ck_assert_str_eq(taken.joinable[1], "j1");
    struct stream_queue_stats s;
    stream_queue_stats(&s);
    ck_assert_int_eq(s.waiting, WAITERS); /* taken ones sleep until answered */
    stream_queue_answered(&held, &taken);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    ck_assert_int_eq(ws[0].got, STREAM_TURN_ANSWERED);
    ck_assert_int_eq(ws[1].got, STREAM_TURN_ANSWERED);
    ck_assert_int_eq(turns_given, 0); /* nobody overtook the holder */
    stream_queue_leave(&held);
    for (int i = 2; i < WAITERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 2; i < WAITERS; i++) {
        ck_assert_int_eq(ws[i].got, STREAM_TURN_HELD);
        ck_assert_int_eq(ws[i].order, i - 1); /* the rest in order of arrival */
    }
    stream_queue_stats(&s);
    ck_assert_int_eq(s.waiting, 0);
}
END_TEST

START_TEST(test_take_is_bounded)
{
    struct waiter ws[3] = {
        {"account-t2", "j0", 0, 0}, {"account-t2", "j1", 0, 0}, {"account-t2", "j2", 0, 0}};
    pthread_t th[3];
    struct stream_turns held;
    struct stream_taken taken;
    turns_given = 0;
    ck_assert_int_eq(queue_and_take(ws, 3, "account-t2", 2, th, &held, &taken), 2);
    stream_queue_answered(&held, &taken);
    stream_queue_leave(&held);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(ws[1].got, STREAM_TURN_ANSWERED);
    ck_assert_int_eq(ws[2].got, STREAM_TURN_HELD);
}
END_TEST

/* A holder of two slots (a transfer) never takes: a batch decides one stream's commands. */
START_TEST(test_two_stream_holder_takes_nothing)
{
    static const char two[][STREAM_ID_MAX + 1] = {"account-t3", "account-t4"};
    struct stream_turns held;
    struct stream_taken taken = {0};
    ck_assert(stream_queue_enter(&held, two, 2, 0));
    int calls = 0;
    ck_assert_int_eq(stream_queue_take(&held, fits, &calls, &taken, 8), 0);
    ck_assert_int_eq(calls, 0);
    stream_queue_leave(&held);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stream_take");
    TCase *tc = tcase_create("take");
    tcase_add_test(tc, test_take_stops_at_the_first_it_cannot_take);
    tcase_add_test(tc, test_take_is_bounded);
    tcase_add_test(tc, test_two_stream_holder_takes_nothing);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
