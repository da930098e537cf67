/* Unit tests for common/handoff.c and clock.c: tokens go to waiters in order of arrival, a
 * waiter past its deadline leaves the queue, and deadlines carry into the next second. */
#include "clock.h"
#include "handoff.h"

#include "run_suite.h"

#include <check.h>
#include <sched.h>
#include <stdint.h>

#define WAITERS 5

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct handoff_queue queue;
static int queued;
static intptr_t got[WAITERS];

static void *wait_token(void *arg)
{
    int me = (int)(intptr_t)arg;
    pthread_mutex_lock(&mu);
    queued++;
    got[me] = (intptr_t)handoff_wait(&queue, &mu, 60000);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void wait_queued(int n)
{
    for (;;) {
        pthread_mutex_lock(&mu);
        int q = queued;
        pthread_mutex_unlock(&mu);
        if (q >= n)
            return;
        sched_yield();
    }
}

START_TEST(test_tokens_go_in_order_of_arrival)
{
    pthread_t th[WAITERS];
    queued = 0;
    for (int i = 0; i < WAITERS; i++) {
        pthread_create(&th[i], NULL, wait_token, (void *)(intptr_t)i);
        wait_queued(i + 1);
    }
    /* queued counts a thread before it sleeps; under mu, giving reaches only queued ones. */
    for (int i = 0; i < WAITERS; i++) {
        for (;;) {
            pthread_mutex_lock(&mu);
            bool given = handoff_give(&queue, (void *)(intptr_t)(100 + i));
            pthread_mutex_unlock(&mu);
            if (given)
                break;
            sched_yield();
        }
    }
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(got[i], 100 + i);
    }
    pthread_mutex_lock(&mu);
    ck_assert(!handoff_give(&queue, (void *)1)); /* nobody left */
    pthread_mutex_unlock(&mu);
}
END_TEST

START_TEST(test_deadline_leaves_the_queue)
{
    pthread_mutex_lock(&mu);
    ck_assert_ptr_null(handoff_wait(&queue, &mu, 10));
    ck_assert_ptr_null(queue.head);
    ck_assert_ptr_null(queue.tail);
    ck_assert(!handoff_give(&queue, (void *)1));
    pthread_mutex_unlock(&mu);
}
END_TEST

START_TEST(test_deadline_normalised)
{
    struct timespec now, t = clock_deadline_after(1999);
    clock_gettime(CLOCK_MONOTONIC, &now);
    ck_assert_int_lt(t.tv_nsec, 1000000000L);
    ck_assert_int_ge(t.tv_nsec, 0);
    int64_t ahead = (int64_t)(t.tv_sec - now.tv_sec) * 1000 + (t.tv_nsec - now.tv_nsec) / 1000000;
    ck_assert_int_le(ahead, 1999);
    ck_assert_int_gt(ahead, 0);
    ck_assert_int_ge(clock_seconds_since(&now), 0);
    ck_assert_int_gt(clock_now_ms(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("handoff");
    TCase *tc = tcase_create("handoff");
    tcase_add_test(tc, test_tokens_go_in_order_of_arrival);
    tcase_add_test(tc, test_deadline_leaves_the_queue);
    tcase_add_test(tc, test_deadline_normalised);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
