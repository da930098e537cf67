/* Names of the domain's enums (event types, statuses, commands), stream ids and the id rule.
 * The strings are the contract's: they are stored in the events table and printed by the API. */
#include "domain.h"

#include <stdio.h>
#include <string.h>

static const char *const event_type_names[EV__COUNT] = {
#define EV_NAME(name, str) [name] = str,
    EVENT_TYPE_TABLE(EV_NAME)
#undef EV_NAME
};

static const char *const command_type_names[CMD__COUNT] = {
#define CMD_NAME(name, str) [name] = str,
    COMMAND_TYPE_TABLE(CMD_NAME)
#undef CMD_NAME
};

const char *event_type_name(enum event_type t)
{
    if ((unsigned)t >= EV__COUNT)
        return "";
    return event_type_names[t];
}

bool event_type_parse(const char *name, enum event_type *out)
{
    if (name == NULL)
        return false;
    for (int i = 0; i < EV__COUNT; i++) {
        if (strcmp(name, event_type_names[i]) == 0) {
            *out = (enum event_type)i;
            return true;
        }
    }
    return false;
}

bool event_type_is_order(enum event_type t)
{
    return t == EV_ORDER_PLACED || t == EV_ORDER_PAID || t == EV_ORDER_SHIPPED ||
           t == EV_ORDER_CANCELLED;
}

const char *order_status_name(enum order_status s)
{
    switch (s) {
    case ORDER_PLACED:
        return "placed";
    case ORDER_PAID:
        return "paid";
    case ORDER_SHIPPED:
        return "shipped";
    case ORDER_CANCELLED:
        return "cancelled";
    case ORDER_NONE:
        break;
    }
    return "";
}

const char *account_status_name(enum account_status s)
{
    switch (s) {
    case ACCOUNT_OPEN:
        return "open";
    case ACCOUNT_CLOSED:
        return "closed";
    case ACCOUNT_NONE:
        break;
    }
    return "";
}

const char *command_type_name(enum command_type t)
{
    if ((unsigned)t >= CMD__COUNT)
        return "";
    return command_type_names[t];
}

/* Ids are at most ID_MAX bytes, so "account-" + id always fits; %.64s guards a bad caller. */
void stream_id_order(char *out, const char *order_id)
{
    snprintf(out, STREAM_ID_MAX + 1, "order-%.64s", order_id);
}

void stream_id_account(char *out, const char *account_id)
{
    snprintf(out, STREAM_ID_MAX + 1, "account-%.64s", account_id);
}

bool id_is_valid(const char *s)
{
    if (s == NULL)
        return false;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || n >= ID_MAX)
            return false;
    }
    return n >= 1;
}
