/* Group append (group_append.h): a leader/follower queue in front of store_append_batch.
 * Members (a lone command, or a hot stream's batch) live on their own threads' stacks; the
 * mutex guards the queue, the in-flight count and every member's state, and a member reads its
 * results only after its state left QUEUED/TAKEN. */
#include "group_append.h"

#include "config.h"
#include "domain/batch.h"
#include "metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define GROUP_MAX (2 * BATCH_MAX) /* commands one group's statement carries at most */

enum member_state {
    QUEUED, /* waiting for a group */
    TAKEN,  /* in a group being appended by its leader */
    DONE,   /* rc, bodies, lens and key_taken are its results */
    ALONE   /* the group was refused as a whole, nothing written: append alone */
};

struct member {
    const struct append_request *a;
    int n;
    enum member_state state;
    enum err rc;
    char **bodies;
    size_t *lens;
    bool key_taken;
    struct member *next;
    pthread_cond_t wake;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct member *head, *tail;
static int inflight, max_inflight;
static long queued;

static struct metrics_sizes sizes;

bool group_append_init(char *err, size_t err_len)
{
    return config_int("APPEND_GROUPS", &max_inflight, err, err_len);
}

static void observe(int n)
{
    metrics_sizes_observe(&sizes, n);
}

void group_append_metrics(void *buf)
{
    metrics_sizes_print(buf, &sizes, "orderly_command_append_group_size",
                        "commands of different streams appended by one statement (1: alone)");
    pthread_mutex_lock(&mu);
    long waiting = queued;
    pthread_mutex_unlock(&mu);
    metrics_printf(buf,
                   "# HELP orderly_command_append_waiting commands waiting for an append group\n"
                   "# TYPE orderly_command_append_waiting gauge\n"
                   "orderly_command_append_waiting %ld\n",
                   waiting);
}

/* The group's statement, on the leader's connection, with no lock held. true: refused as a
 * whole by a unique violation or a key another transaction holds, which proves that nothing was
 * written and that each member alone may fare differently. Any other error is every member's
 * own answer, as its own append would have met it (a lost connection leaves the outcome
 * unknown: a group is never run twice). */
static bool append_group(struct db_conn *c, struct member *const *m, int members, int total)
{
    if (members == 1) {
        m[0]->rc =
            store_append_batch(c, m[0]->a, m[0]->n, m[0]->bodies, m[0]->lens, &m[0]->key_taken);
        return false;
    }
    struct append_request a[GROUP_MAX] = {{0}};
    char *bodies[GROUP_MAX];
    size_t lens[GROUP_MAX];
    bool key_taken = false;
    for (int i = 0, at = 0; i < members; at += m[i++]->n)
        memcpy(&a[at], m[i]->a, (size_t)m[i]->n * sizeof *a);
    enum err rc = store_append_batch(c, a, total, bodies, lens, &key_taken);
    for (int i = 0, at = 0; i < members; at += m[i++]->n) {
        m[i]->rc = rc;
        if (rc == ERR_OK) {
            memcpy(m[i]->bodies, &bodies[at], (size_t)m[i]->n * sizeof *bodies);
            memcpy(m[i]->lens, &lens[at], (size_t)m[i]->n * sizeof *lens);
        }
    }
    return key_taken || rc == ERR_CONFLICT || rc == ERR_IDEM_BUSY;
}

/* Under mu: the oldest waiters, up to GROUP_MAX commands, become the group this thread
 * appends; *total is how many commands they carry. */
static int take_group(struct member **m, int *total)
{
    int n = 0;
    *total = 0;
    while (head && *total + head->n <= GROUP_MAX) {
        struct member *taken = head;
        head = taken->next;
        taken->state = TAKEN;
        *total += taken->n;
        queued -= taken->n;
        m[n++] = taken;
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
    struct member *m[GROUP_MAX];
    int total, n = take_group(m, &total);
    inflight++;
    pthread_mutex_unlock(&mu);
    bool refused = append_group(c, m, n, total);
    observe(total);
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n; i++) {
        m[i]->state = refused ? ALONE : DONE;
        if (m[i] != self)
            pthread_cond_signal(&m[i]->wake);
    }
    append_ended();
}

static enum err append_now(struct db_conn *c, const struct append_request *a, int n, char **bodies,
                           size_t *lens, bool *key_taken)
{
    enum err rc = store_append_batch(c, a, n, bodies, lens, key_taken);
    observe(n);
    pthread_mutex_lock(&mu);
    append_ended();
    pthread_mutex_unlock(&mu);
    return rc;
}

/* Under mu: queues me and waits until a group carried it, leading one whenever a slot is free. */
static void wait_for_group(struct db_conn *c, struct member *me)
{
    pthread_cond_init(&me->wake, NULL);
    if (tail)
        tail->next = me;
    else
        head = me;
    tail = me;
    queued += me->n;
    while (me->state == QUEUED || me->state == TAKEN) {
        if (me->state == QUEUED && inflight < max_inflight)
            lead(c, me);
        else
            pthread_cond_wait(&me->wake, &mu);
    }
    pthread_cond_destroy(&me->wake);
}

enum err group_append_batch(struct db_conn *c, const struct append_request *a, int n, char **bodies,
                            size_t *lens, bool *key_taken)
{
    bool keys = n == 1 && (a->key_account_id || a->forget_account_id);
    if (max_inflight == 0 || keys) /* account keys: only the one-command statement has them */
        return store_append_batch(c, a, n, bodies, lens, key_taken);
    pthread_mutex_lock(&mu);
    if (inflight < max_inflight && !head) {
        inflight++;
        pthread_mutex_unlock(&mu);
        return append_now(c, a, n, bodies, lens, key_taken);
    }
    struct member me = {.a = a, .n = n, .state = QUEUED, .bodies = bodies, .lens = lens};
    wait_for_group(c, &me);
    pthread_mutex_unlock(&mu);
    if (me.state == ALONE)
        return store_append_batch(c, a, n, bodies, lens, key_taken);
    *key_taken = me.key_taken;
    return me.rc;
}

enum err group_append(struct db_conn *c, const struct append_request *a, char **body_out,
                      size_t *len_out, bool *key_taken)
{
    return group_append_batch(c, a, 1, body_out, len_out, key_taken);
}
