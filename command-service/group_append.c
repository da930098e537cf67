/* Group append (group_append.h): a leader/follower queue in front of store_append. Members live
 * on their own threads' stacks; the mutex guards the queue, the in-flight count and every
 * member's state, and a member reads its results only after its state left QUEUED/LED. */
#include "group_append.h"

#include "config.h"
#include "domain/batch.h"
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

enum member_state {
    QUEUED, /* waiting for a group */
    TAKEN,  /* in a group being appended by its leader */
    DONE,   /* rc, body, len and key_taken are its results */
    ALONE   /* the group was refused as a whole, nothing written: append alone */
};

struct member {
    const struct append_request *a;
    enum member_state state;
    enum err rc;
    char *body;
    size_t len;
    bool key_taken;
    struct member *next;
    pthread_cond_t wake;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct member *head, *tail;
static int inflight, max_inflight;
static long queued;

static const int size_bounds[] = {1, 2, 4, 8, 16, 32};
#define BOUNDS (int)(sizeof size_bounds / sizeof size_bounds[0])
static atomic_ullong size_buckets[BOUNDS], size_count, size_sum;

bool group_append_init(char *err, size_t err_len)
{
    return config_int("APPEND_GROUPS", &max_inflight, err, err_len);
}

static void observe(int n)
{
    for (int i = 0; i < BOUNDS; i++)
        if (n <= size_bounds[i])
            atomic_fetch_add(&size_buckets[i], 1);
    atomic_fetch_add(&size_count, 1);
    atomic_fetch_add(&size_sum, (unsigned long long)n);
}

void group_append_metrics(void *buf)
{
    metrics_printf(buf, "# HELP orderly_command_append_group_size commands of different streams "
                        "appended by one statement (1: alone)\n"
                        "# TYPE orderly_command_append_group_size histogram\n");
    for (int i = 0; i < BOUNDS; i++)
        metrics_printf(buf, "orderly_command_append_group_size_bucket{le=\"%d\"} %llu\n",
                       size_bounds[i], atomic_load(&size_buckets[i]));
    unsigned long long count = atomic_load(&size_count);
    pthread_mutex_lock(&mu);
    long waiting = queued;
    pthread_mutex_unlock(&mu);
    metrics_printf(buf,
                   "orderly_command_append_group_size_bucket{le=\"+Inf\"} %llu\n"
                   "orderly_command_append_group_size_sum %llu\n"
                   "orderly_command_append_group_size_count %llu\n"
                   "# HELP orderly_command_append_waiting commands waiting for an append group\n"
                   "# TYPE orderly_command_append_waiting gauge\n"
                   "orderly_command_append_waiting %ld\n",
                   count, atomic_load(&size_sum), count, waiting);
}

/* The group's statement, on the leader's connection, with no lock held. true: refused as a
 * whole by a unique violation or a key another transaction holds, which proves that nothing was
 * written and that each member alone may fare differently. Any other error is every member's
 * own answer, as its own append would have met it (a lost connection leaves the outcome
 * unknown: a group is never run twice). */
static bool append_group(struct db_conn *c, struct member *const *m, int n)
{
    if (n == 1) {
        m[0]->rc = store_append(c, m[0]->a, &m[0]->body, &m[0]->len, &m[0]->key_taken);
        return false;
    }
    struct append_request a[BATCH_MAX] = {{0}};
    char *bodies[BATCH_MAX];
    size_t lens[BATCH_MAX];
    bool key_taken = false;
    for (int i = 0; i < n; i++)
        a[i] = *m[i]->a;
    enum err rc = store_append_batch(c, a, n, bodies, lens, &key_taken);
    for (int i = 0; i < n; i++) {
        m[i]->rc = rc;
        m[i]->body = rc == ERR_OK ? bodies[i] : NULL;
        m[i]->len = rc == ERR_OK ? lens[i] : 0;
    }
    return key_taken || rc == ERR_CONFLICT || rc == ERR_IDEM_BUSY;
}

/* Under mu: the oldest waiters, up to BATCH_MAX, become the group this thread appends. */
static int take_group(struct member **m)
{
    int n = 0;
    while (head && n < BATCH_MAX) {
        m[n] = head;
        head = head->next;
        m[n++]->state = TAKEN;
        queued--;
    }
    if (!head)
        tail = NULL;
    return n;
}

/* Under mu, after an append ends: the oldest waiter, if any, may now lead a group. */
static void append_ended(void)
{
    inflight--;
    if (head)
        pthread_cond_signal(&head->wake);
}

/* Under mu (released while appending): appends a group of waiters on c and wakes them with
 * their results. */
static void lead(struct db_conn *c, struct member *self)
{
    struct member *m[BATCH_MAX];
    int n = take_group(m);
    inflight++;
    pthread_mutex_unlock(&mu);
    bool refused = append_group(c, m, n);
    observe(n);
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n; i++) {
        m[i]->state = refused ? ALONE : DONE;
        if (m[i] != self)
            pthread_cond_signal(&m[i]->wake);
    }
    append_ended();
}

static enum err append_now(struct db_conn *c, const struct append_request *a, char **body_out,
                           size_t *len_out, bool *key_taken)
{
    enum err rc = store_append(c, a, body_out, len_out, key_taken);
    observe(1);
    pthread_mutex_lock(&mu);
    append_ended();
    pthread_mutex_unlock(&mu);
    return rc;
}

enum err group_append(struct db_conn *c, const struct append_request *a, char **body_out,
                      size_t *len_out, bool *key_taken)
{
    if (max_inflight == 0 || a->key_account_id || a->forget_account_id)
        return store_append(c, a, body_out, len_out, key_taken); /* keys: the one-command form */
    pthread_mutex_lock(&mu);
    if (inflight < max_inflight && !head) {
        inflight++;
        pthread_mutex_unlock(&mu);
        return append_now(c, a, body_out, len_out, key_taken);
    }
    struct member me = {.a = a, .state = QUEUED};
    pthread_cond_init(&me.wake, NULL);
    if (tail)
        tail->next = &me;
    else
        head = &me;
    tail = &me;
    queued++;
    while (me.state == QUEUED || me.state == TAKEN) {
        if (me.state == QUEUED && inflight < max_inflight)
            lead(c, &me);
        else
            pthread_cond_wait(&me.wake, &mu);
    }
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&me.wake);
    if (me.state == ALONE)
        return store_append(c, a, body_out, len_out, key_taken);
    *body_out = me.body;
    *len_out = me.len;
    *key_taken = me.key_taken;
    return me.rc;
}
