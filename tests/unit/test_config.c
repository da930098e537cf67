/* Unit tests of the configuration table and its strict parser: every integer row is read the
 * same way (digits only, its range, unset or empty is its default), and the rows are sound. */
#include "config.h"
#include "store/db.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* How a value relates to the row under test: {text, accepted}; "%min"/"%max" are replaced. */
static const struct {
    const char *value;
    bool ok;
} int_cases[] = {
    {"%min", true},    {"%max", true},   {"", true},       {"+%min", false},
    {" %min", false},  {"%min ", false}, {"%minx", false}, {"-1", false},
    {"%above", false}, {"1e3", false},   {"0x10", false},  {"99999999999999999999", false},
};

static void render(const char *pattern, const struct config_param *p, char *out, size_t len)
{
    const char *at = strchr(pattern, '%');
    if (!at) {
        snprintf(out, len, "%s", pattern);
        return;
    }
    long n = strncmp(at, "%min", 4) == 0   ? p->min
             : strncmp(at, "%max", 4) == 0 ? p->max
                                           : p->max + 1;
    const char *rest = at + (strncmp(at, "%above", 6) == 0 ? 6 : 4);
    snprintf(out, len, "%.*s%ld%s", (int)(at - pattern), pattern, n, rest);
}

/* Every CONFIG_INT row against every case: _i walks rows x cases. */
START_TEST(test_int_rows)
{
    size_t ncases = sizeof int_cases / sizeof int_cases[0];
    const struct config_param *p = &config_params[(size_t)_i / ncases];
    size_t c = (size_t)_i % ncases;
    if (p->type != CONFIG_INT || strcmp(p->name, "PORT") == 0)
        return; /* PORT's default is the caller's (config_load); test_http covers it */
    char value[64], err[128] = "", want[128];
    render(int_cases[c].value, p, value, sizeof value);
    setenv(p->name, value, 1);
    int out = -7;
    bool ok = config_int(p->name, &out, err, sizeof err);
    unsetenv(p->name);
    ck_assert_msg(ok == int_cases[c].ok, "%s=\"%s\"", p->name, value);
    if (ok) {
        ck_assert_int_eq(out, value[0] ? strtol(value, NULL, 10) : p->def);
        return;
    }
    snprintf(want, sizeof want, "%s: must be an integer between %ld and %ld", p->name, p->min,
             p->max);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_rows_are_sound)
{
    const struct config_param *p = &config_params[_i];
    ck_assert_msg(config_find(p->name) == p, "%s: named twice", p->name);
    ck_assert_msg(p->services != 0 && (p->services & ~CONFIG_BOTH) == 0, "%s", p->name);
    ck_assert_msg(p->help && p->help[0] && !strchr(p->help, '|'), "%s: help", p->name);
    if (p->type == CONFIG_INT && !p->def_text) /* PORT's default is the caller's */
        ck_assert_msg(p->min <= p->def && p->def <= p->max && p->max <= 2147483647L, "%s", p->name);
    if (p->type == CONFIG_CHOICE)
        ck_assert_msg(p->choices && p->def_text, "%s", p->name);
}
END_TEST

/* store/db.h still names the pool's defaults for its callers: they must be the table's. */
START_TEST(test_db_defaults_match)
{
    ck_assert_int_eq(config_find("DB_POOL_SIZE")->def, DB_POOL_SIZE_DEFAULT);
    ck_assert_int_eq(config_find("DB_POOL_WAIT_MS")->def, DB_POOL_WAIT_MS_DEFAULT);
    ck_assert_int_eq(config_find("DB_LOCK_TIMEOUT_MS")->def, DB_LOCK_TIMEOUT_DEFAULT);
    ck_assert_int_eq(config_find("DB_COMMIT_TIMEOUT_MS")->def, DB_COMMIT_TIMEOUT_DEFAULT);
}
END_TEST

/* PROJECTIONS_DIR: projections/ beside MIGRATIONS_DIR unless set (then required). */
static const struct {
    const char *env, *migrations, *want;
    bool required;
} projections_cases[] = {
    {NULL, "/usr/share/orderly/migrations", "/usr/share/orderly/projections", false},
    {NULL, "/src/orderly/migrations/", "/src/orderly/projections", false},
    {NULL, "migrations", "projections", false},
    {NULL, "/migrations", "/projections", false},
    {"", "/a/migrations", "/a/projections", false},
    {"/etc/views", "/a/migrations", "/etc/views", true},
};

START_TEST(test_projections_dir)
{
    if (projections_cases[_i].env)
        setenv("PROJECTIONS_DIR", projections_cases[_i].env, 1);
    else
        unsetenv("PROJECTIONS_DIR");
    char dir[256];
    bool required = !projections_cases[_i].required;
    config_projections_dir(projections_cases[_i].migrations, dir, sizeof dir, &required);
    ck_assert_str_eq(dir, projections_cases[_i].want);
    ck_assert(required == projections_cases[_i].required);
    unsetenv("PROJECTIONS_DIR");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("table");
    int ncases = (int)(sizeof int_cases / sizeof int_cases[0]);
    tcase_add_loop_test(tc, test_int_rows, 0, (int)config_param_count * ncases);
    tcase_add_loop_test(tc, test_rows_are_sound, 0, (int)config_param_count);
    tcase_add_test(tc, test_db_defaults_match);
    tcase_add_loop_test(tc, test_projections_dir, 0,
                        (int)(sizeof projections_cases / sizeof projections_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(config_suite());
}
