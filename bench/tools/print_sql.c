/* bench/tools/print_sql: prints one query-service statement by its enum name, so the pgbench
 * ceilings run the exact SQL the service prepares (query-service/statements.h), never a copy. */
#include <stdio.h>
#include <string.h>

#include "statements.h"

struct named {
    const char *name;
    const char *sql;
};

static const struct named table[] = {
#define ST_NAMED(id, n, sql) {#id, sql},
    STATEMENT_TABLE(ST_NAMED)
#undef ST_NAMED
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s ST_NAME\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].name, argv[1]) == 0) {
            puts(table[i].sql);
            return 0;
        }
    }
    fprintf(stderr, "no statement %s\n", argv[1]);
    return 1;
}
