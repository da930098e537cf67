/* A hot stream's waiting commands decided together (issue 15): the holder of the stream's turn
 * loads the stream once, decides each command in order of arrival over the state the ones
 * before it left, appends every accepted command's events and idempotency row in one
 * statement, and answers each command exactly as it would have been answered alone. */
#ifndef ORDERLY_HOT_BATCH_H
#define ORDERLY_HOT_BATCH_H

#include "domain/batch.h"
#include "respond.h"

/* One command of a batch; lives with its own request, the holder only fills it in. */
struct hot_member {
    struct command_request *cr; /* cr->db: the holder's connection while in the batch */
    const struct command *c;
    char stream_id[STREAM_ID_MAX + 1];
    enum err rc; /* batch_decide's verdict in the current attempt */
    struct err_detail why;
    struct decision d;
};

enum hot_outcome {
    HOT_DONE,  /* every member is answered */
    HOT_RETRY, /* another writer took a version: nothing written, decide again from a load */
    HOT_ALONE  /* a key was already stored (or busy): nothing written, run each alone */
};

/* The commands of one batch, m[0] the turn's holder, in order of arrival. */
struct hot_batch {
    struct hot_member *m[BATCH_MAX];
    int n;
    /* Adds the commands that queued behind the holder meanwhile (none is waited for). */
    void (*take)(struct hot_batch *b, void *cls);
    void *cls;
};

/* One load, decide and append of the batch (joinable commands on one stream, in order). The
 * commands that queued during the load join it before anything is decided. */
enum hot_outcome hot_batch_attempt(struct hot_batch *b);

/* Records that a turn's holder decided n commands (1: it ran alone). */
void hot_batch_observe(int n);
/* orderly_command_batch_size, a histogram, in Prometheus text (metrics_fn's buffer). */
void hot_batch_metrics(void *buf);

#endif
