/* Decoding rows of SQL_EVENT_COLS into domain events, for the write side's loads and the read
 * side's projector, temporal reads and feeds alike. */
#ifndef ORDERLY_EVENT_ROW_H
#define ORDERLY_EVENT_ROW_H

#include "domain/domain.h"
#include "err.h"
#include "store/event_sql.h"
#include <libpq-fe.h>
#include <stdint.h>

/* A bigint column; NULL reads as 0. */
int64_t event_row_int(const PGresult *res, int row, int col);

/* Decodes row `row` into e (type, stream, version, position, recorded_at_ms, data upcast to
 * the current shape). ERR_BAD_EVENT names the position and why: unknown type, stream id too
 * long, unsupported schema_version, bad data. */
enum err event_row_decode(const PGresult *res, int row, struct event *e, struct err_detail *why)
    __attribute__((warn_unused_result));

#endif
