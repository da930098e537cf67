/* Deciding a run of commands on one stream against one loaded state (issue 15): each command
 * sees the state as the commands before it in the run left it, exactly as if each had been
 * loaded and decided alone after the earlier ones were appended. Pure: no I/O. */
#ifndef ORDERLY_DOMAIN_BATCH_H
#define ORDERLY_DOMAIN_BATCH_H

#include "domain/domain.h"

#define BATCH_MAX 32 /* commands one append carries at most */

/* True for a command whose only stream is known before loading and that never writes outside
 * it (no account key, no refund to another account, no creation): such commands may be
 * decided together with others on the same stream. */
bool batch_joinable(const struct command *c);

/* The version If-Match is compared with: the command's target stream in w. */
int64_t batch_target_version(const struct command *c, const struct world *w);

/* If-Match (if_match >= 0) against w, then decide(). The refusal's detail is the same text a
 * command decided alone gets. */
enum err batch_decide(const struct command *c, int64_t if_match, const struct world *w,
                      struct decision *out, struct err_detail *why)
    __attribute__((warn_unused_result));

/* Folds an accepted decision's events into w (ids/n as for world_evolve), so the next command
 * of the run decides over the state after it. */
void batch_fold(struct world *w, const char ids[][STREAM_ID_MAX + 1], int n,
                const struct decision *d);

#endif
