/* The read side's half of forgetting: keys of many accounts from one result, and replacing
 * sealed owners in event JSON and folded states with the plain text or "[forgotten]". */
#include "personal.h"

#include "xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void personal_keys_load(struct personal_keys *k, const PGresult *res)
{
    int rows = PQntuples(res);
    k->n = 0;
    k->ids = xcalloc((size_t)rows + 1, sizeof *k->ids);
    k->keys = xcalloc((size_t)rows + 1, sizeof *k->keys);
    for (int i = 0; i < rows; i++) {
        const char *id = PQgetvalue(res, i, 0);
        if (strlen(id) > ID_MAX || !pii_key_from_hex(PQgetvalue(res, i, 1), k->keys[k->n]))
            continue;
        snprintf(k->ids[k->n], sizeof k->ids[k->n], "%s", id);
        k->n++;
    }
}

/* Linear: a page or a batch names few accounts with a sealed owner. */
const unsigned char *personal_key_find(const struct personal_keys *k, const char *account_id)
{
    for (int i = 0; i < k->n; i++)
        if (strcmp(k->ids[i], account_id) == 0)
            return k->keys[i];
    return NULL;
}

void personal_keys_free(struct personal_keys *k)
{
    if (k->keys)
        pii_wipe(k->keys, (size_t)k->n * sizeof *k->keys);
    free(k->ids);
    free(k->keys);
    memset(k, 0, sizeof *k);
}

/* The data of an AccountOpened event whose owner is sealed, or NULL. Borrowed. */
static json_t *sealed_data(const json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *data = json_object_get(ev, "data");
    const char *owner = json_string_value(json_object_get(data, "owner"));
    if (!type || strcmp(type, event_type_name(EV_ACCOUNT_OPENED)) != 0 || !owner ||
        !pii_is_sealed(owner) || !json_is_string(json_object_get(data, "account_id")))
        return NULL;
    return data;
}

char *personal_sealed_ids(const json_t *events)
{
    json_t *ids = json_array();
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        json_t *data = sealed_data(ev);
        if (data)
            json_array_append(ids, json_object_get(data, "account_id"));
    }
    char *text = json_array_size(ids) ? json_dumps(ids, JSON_COMPACT) : NULL;
    json_decref(ids);
    return text;
}

void personal_reveal_events(json_t *events, const struct personal_keys *k)
{
    size_t i;
    json_t *ev;
    char plain[OWNER_STORED_MAX + 1];
    json_array_foreach(events, i, ev)
    {
        json_t *data = sealed_data(ev);
        if (!data)
            continue;
        const char *id = json_string_value(json_object_get(data, "account_id"));
        pii_reveal(json_string_value(json_object_get(data, "owner")), personal_key_find(k, id),
                   plain, sizeof plain);
        json_t *v = json_string(plain); /* NULL for bytes that are not UTF-8 */
        json_object_set_new(data, "owner", v ? v : json_string(OWNER_FORGOTTEN));
    }
    pii_wipe(plain, sizeof plain);
}

void personal_reveal_owner(char *owner, const struct personal_keys *k, const char *account_id)
{
    pii_reveal_in_place(owner, OWNER_STORED_MAX + 1, personal_key_find(k, account_id));
}
