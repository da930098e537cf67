/* The one error convention: every fallible function returns enum err (0 is ERR_OK).
 * Status, problem type slug and title live in one table so they cannot drift. */
#ifndef ORDERLY_ERR_H
#define ORDERLY_ERR_H

#define ERR_TABLE(X)                                                                               \
    X(ERR_OK, 200, "ok", "ok")                                                                     \
    X(ERR_BAD_JSON, 400, "malformed-json", "malformed JSON")                                       \
    X(ERR_BAD_PARAM, 400, "bad-parameter", "invalid query parameter")                              \
    X(ERR_UNAUTHORIZED, 401, "unauthorized", "missing or invalid bearer token")                    \
    X(ERR_NOT_FOUND, 404, "not-found", "no such resource")                                         \
    X(ERR_METHOD, 405, "method-not-allowed", "method not allowed")                                 \
    X(ERR_ORDER_STATE, 409, "order-state", "order state does not allow this")                      \
    X(ERR_NO_FUNDS, 409, "insufficient-funds", "insufficient funds")                               \
    X(ERR_EXISTS, 409, "already-exists", "already exists")                                         \
    X(ERR_ACCOUNT_CLOSED, 409, "account-closed", "account is closed")                              \
    X(ERR_ACCOUNT_NOT_EMPTY, 409, "account-not-empty", "account balance is not zero")              \
    X(ERR_FORGOTTEN, 409, "already-forgotten", "personal data already forgotten")                  \
    X(ERR_CURRENCY, 409, "currency-mismatch", "currencies do not match")                           \
    X(ERR_AMOUNT, 409, "amount-mismatch", "amount does not match the order total")                 \
    X(ERR_OVERFLOW, 409, "balance-overflow", "balance would overflow")                             \
    X(ERR_CONFLICT, 409, "concurrency-conflict", "too many concurrent writers")                    \
    X(ERR_IDEM_BUSY, 409, "idempotency-in-progress", "a request with this key is in progress")     \
    X(ERR_PRECONDITION, 412, "precondition-failed", "stream version does not match If-Match")      \
    X(ERR_TOO_LARGE, 413, "payload-too-large", "request body over 64 KiB")                         \
    X(ERR_MEDIA_TYPE, 415, "unsupported-media-type", "content type must be application/json")      \
    X(ERR_VALIDATION, 422, "validation-error", "invalid request")                                  \
    X(ERR_IDEM_MISMATCH, 422, "idempotency-key-reused",                                            \
      "idempotency key used for another request")                                                  \
    X(ERR_HEADER_TOO_LARGE, 431, "header-too-large", "request header fields over 16 KiB")          \
    X(ERR_INTERNAL, 500, "internal-error", "internal error")                                       \
    X(ERR_DB_DOWN, 503, "db-unavailable", "database unavailable")                                  \
    X(ERR_BEHIND, 503, "projection-behind", "read model has not reached the requested position")   \
    X(ERR_BAD_EVENT, 500, "bad-event", "stored event cannot be decoded")                           \
    X(ERR_NOT_READY, 503, "not-ready", "service is not ready")

enum err {
#define ERR_ENUM(name, status, slug, title) name,
    ERR_TABLE(ERR_ENUM)
#undef ERR_ENUM
        ERR__COUNT
};

/* Base of every problem "type" URI; the slug is appended. */
#define ERR_TYPE_BASE "https://orderly.dev/problems/"

/* Why a request failed, for the problem+json body: a detail sentence and, for 422, each field. */
#define FIELD_ERRORS_MAX 32
struct field_error {
    char field[96];
    char message[128];
};
struct err_detail {
    char detail[256];
    int field_count;
    struct field_error fields[FIELD_ERRORS_MAX];
};

/* Sets detail (printf-style); returns e so callers can `return err_set(why, ERR_X, "...")`.
 * why may be NULL. */
enum err err_set(struct err_detail *why, enum err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends one field error (dropped past FIELD_ERRORS_MAX); why may be NULL. */
void err_field(struct err_detail *why, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int err_status(enum err e);
const char *err_slug(enum err e);
const char *err_title(enum err e);
const char *err_name(enum err e);

#endif
