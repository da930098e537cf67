/* One queue per kind of GET by id, under one mutex (read_batch.h). A lookup lives on its GET's
 * stack; the GET that leads a batch fills the others' lookups and signals each. */
#include "read_batch.h"

#include "clock.h"
#include "metrics.h"
#include "query_db.h"
#include "reads.h"
#include "reads_internal.h"
#include "store/param_array.h"
#include "xalloc.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>

struct lookup {
    const char *id;
    char *doc;
    size_t len;
    int64_t version;
    enum err e;
    bool taken, done;
    pthread_cond_t cv;
    struct lookup *next;
};

/* One per kind: a lock on rm_accounts (a rebuild's swap) never holds up order GETs. */
struct lane {
    struct lookup *head, *tail;
    int running;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct lane lanes[2]; /* [order] */
static int queued, slots = 1, wait_ms = 5000;
static struct metrics_sizes sizes;

void read_batch_init(int n, int queue_wait_ms)
{
    slots = n > 0 ? n : 1;
    wait_ms = queue_wait_ms;
}

/* Under mu: up to READ_BATCH_MAX lookups from the head of l, marked taken. */
static struct lookup *take(struct lane *l, int *n)
{
    struct lookup *first = l->head, *last = NULL;
    *n = 0;
    for (struct lookup *k = first; k && *n < READ_BATCH_MAX; k = k->next, (*n)++) {
        k->taken = true;
        last = k;
    }
    queued -= *n;
    l->head = last->next;
    if (!l->head)
        l->tail = NULL;
    last->next = NULL;
    return first;
}

static void fill(struct lookup *k, const PGresult *res, int row)
{
    k->len = (size_t)PQgetlength(res, row, 1);
    k->doc = xmalloc(k->len + 1);
    memcpy(k->doc, PQgetvalue(res, row, 1), k->len + 1);
    k->version = query_db_int(res, row, 2);
    k->e = ERR_OK;
}

/* Without mu: one query for the batch's ids; a lookup no row matched is ERR_NOT_FOUND. */
static void run(bool order, struct lookup *batch, int n)
{
    struct param_array ids = {0}; /* a lone GET, the common case at low load, needs none */
    if (n > 1)
        param_array_init(&ids);
    for (struct lookup *k = batch; k; k = k->next) {
        if (n > 1)
            param_array_text(&ids, k->id);
        k->e = ERR_NOT_FOUND;
    }
    const char *params[] = {n == 1 ? batch->id : param_array_done(&ids)};
    enum err e = ERR_OK;
    enum query_stmt st = n == 1 ? (order ? ST_ORDER_GET : ST_ACCOUNT_GET)
                                : (order ? ST_ORDERS_GET_MANY : ST_ACCOUNTS_GET_MANY);
    PGresult *res = reads_run(st, params, &e);
    for (int row = 0; res && row < PQntuples(res); row++)
        for (struct lookup *k = batch; k; k = k->next)
            if (k->e == ERR_NOT_FOUND && strcmp(k->id, PQgetvalue(res, row, 0)) == 0)
                fill(k, res, row);
    for (struct lookup *k = batch; k && !res; k = k->next)
        k->e = e;
    PQclear(res);
    param_array_free(&ids);
    metrics_sizes_observe(&sizes, n);
}

/* Under mu: the batch is answered; the lane's next queued GET may lead now. */
static void finish(struct lane *l, struct lookup *batch, const struct lookup *self)
{
    for (struct lookup *k = batch, *next; k; k = next) {
        next = k->next;
        k->done = true;
        if (k != self)
            pthread_cond_signal(&k->cv);
    }
    if (l->head)
        pthread_cond_signal(&l->head->cv);
}

static void lead(bool order, struct lookup *self)
{
    int n;
    struct lane *l = &lanes[order];
    struct lookup *batch = take(l, &n);
    l->running++;
    pthread_mutex_unlock(&mu);
    run(order, batch, n);
    pthread_mutex_lock(&mu);
    l->running--;
    finish(l, batch, self);
}

/* Under mu: self, still queued, leaves l. */
static void leave(struct lane *l, struct lookup *self)
{
    struct lookup **at = &l->head, *prev = NULL;
    while (*at != self) {
        prev = *at;
        at = &(*at)->next;
    }
    *at = self->next;
    if (l->tail == self)
        l->tail = prev;
    queued--;
}

static void enqueue(struct lane *l, struct lookup *self)
{
    if (l->tail)
        l->tail->next = self;
    else
        l->head = self;
    l->tail = self;
    queued++;
}

/* Under mu: until self is answered. A GET still queued after wait_ms leaves with ERR_DB_DOWN,
 * as one would that found no pool connection (DB_POOL_WAIT_MS); once taken it is answered
 * with its batch, whose query the statement's own timeouts bound. */
static void await_answer(bool order, struct lookup *self)
{
    struct lane *l = &lanes[order];
    struct timespec deadline = clock_deadline_after(wait_ms);
    while (!self->done) {
        if (!self->taken && l->running < slots)
            lead(order, self);
        else if (self->taken)
            pthread_cond_wait(&self->cv, &mu);
        else if (pthread_cond_timedwait(&self->cv, &mu, &deadline) == ETIMEDOUT && !self->taken &&
                 !self->done) {
            leave(l, self);
            self->e = ERR_DB_DOWN;
            return;
        }
    }
}

enum err reads_document(bool order, const char *id, char **doc, size_t *len, int64_t *version)
{
    struct lookup self = {.id = id};
    clock_cond_init(&self.cv);
    pthread_mutex_lock(&mu);
    enqueue(&lanes[order], &self);
    await_answer(order, &self);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&self.cv);
    *doc = self.doc;
    *len = self.len;
    *version = self.version;
    return self.e;
}

void read_batch_metrics(void *buf)
{
    pthread_mutex_lock(&mu);
    int now = queued;
    pthread_mutex_unlock(&mu);
    metrics_gauge(buf, "orderly_read_batch_queued", "GETs by id queued for the next query now",
                  now);
    metrics_sizes_print(buf, &sizes, "orderly_read_batch_size",
                        "GETs by id one query answered (1: alone)");
}
