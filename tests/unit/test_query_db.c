/* Unit tests of query-service/query_db.c: the statement table every query-service connection
 * prepares (each named, with as many parameters as its SQL uses) and the connection settings. */
#include "query_db.h"
#include "query_rows.h"

#include "run_suite.h"

#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The highest $N in sql (0: none); a $ inside a dollar-quoted body is not a parameter here. */
static int highest_param(const char *sql)
{
    int max = 0;
    for (const char *p = strchr(sql, '$'); p; p = strchr(p + 1, '$'))
        if (isdigit((unsigned char)p[1]) && strtol(p + 1, NULL, 10) > max)
            max = (int)strtol(p + 1, NULL, 10);
    return max;
}

START_TEST(test_statement_table)
{
    struct db_config cfg;
    query_db_config(&cfg, "postgresql://h/db", "orderly-query", "-c lock_timeout=5ms");
    ck_assert_str_eq(cfg.conninfo, "postgresql://h/db");
    ck_assert_str_eq(cfg.app_name, "orderly-query");
    ck_assert_str_eq(cfg.options, "-c lock_timeout=5ms");
    ck_assert_int_eq(cfg.statement_count, ST__COUNT);
    for (int i = 0; i < ST__COUNT; i++) {
        const struct db_statement *st = &cfg.statements[i];
        ck_assert_msg(st->name && strncmp(st->name, "ST_", 3) == 0, "statement %d has no name", i);
        ck_assert_msg(st->sql && *st->sql, "%s has no SQL", st->name);
        ck_assert_msg(highest_param(st->sql) == st->nparams, "%s: $%d used, %d declared", st->name,
                      highest_param(st->sql), st->nparams);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(cfg.statements[j].name, st->name);
    }
    ck_assert_str_eq(cfg.statements[ST_PII_KEYS].name, "ST_PII_KEYS");
}
END_TEST

/* NULL (a missing value) reads as 0, as the projector's positions and counts expect. */
START_TEST(test_int_column)
{
    PGresult *res = rows_new(2);
    rows_set(res, 0, 0, "9223372036854775807");
    rows_set(res, 0, 1, NULL);
    ck_assert_int_eq(query_db_int(res, 0, 0), INT64_MAX);
    ck_assert_int_eq(query_db_int(res, 0, 1), 0);
    PQclear(res);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query_db");
    TCase *t = tcase_create("query_db");
    tcase_add_test(t, test_statement_table);
    tcase_add_test(t, test_int_column);
    suite_add_tcase(s, t);
    return run_suite(s);
}
