/* Unit tests of the live feed's ring (query-service/live_ring.c): frames rendered once, pushed
 * in position order, the floor raised as the ring wraps, emptied by a forgetting, and which
 * subscribers it serves and which must read the database below its floor; LIVE_RING_EVENTS. */
#include "live_ring.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct live_ring ring;

static struct frame ev(int64_t position, const char *type)
{
    json_t *e = json_pack("{s:I, s:s, s:{s:s}}", "position", (json_int_t)position, "type", type,
                          "data", "note", "a\nb");
    struct frame f = live_frame_render(e);
    json_decref(e);
    return f;
}

/* Adds one frame per position to the ring and moves head to `to`. */
static void add(const int64_t *positions, size_t n, int64_t to)
{
    struct frame f[8];
    for (size_t i = 0; i < n; i++)
        f[i] = ev(positions[i], "FundsDeposited");
    live_ring_add(&ring, f, n, to);
}

static void teardown(void)
{
    live_ring_restart(&ring, 0);
}

START_TEST(test_frame_render)
{
    struct frame f = ev(42, "Order\nPlaced");
    ck_assert_int_eq(f.position, 42);
    ck_assert(!f.forgets);
    ck_assert_str_eq(f.text, "id: 42\nevent: Order Placed\ndata: "
                             "{\"position\":42,\"type\":\"Order\\nPlaced\",\"data\":{\"note\":"
                             "\"a\\nb\"}}\n\n");
    ck_assert_uint_eq(f.len, strlen(f.text));
    free(f.text);
    f = ev(43, "PersonalDataForgotten");
    ck_assert(f.forgets);
    free(f.text);
}
END_TEST

START_TEST(test_settings)
{
    const int asked[] = {0, -1, 1, 64, LIVE_RING_MAX, LIVE_RING_MAX + 1};
    const size_t cap[] = {LIVE_RING_MAX, LIVE_RING_MAX, 1, 64, LIVE_RING_MAX, LIVE_RING_MAX};
    for (int i = 0; i < 6; i++) {
        live_ring_init(&ring, asked[i]);
        ck_assert_uint_eq(ring.cap, cap[i]);
        ck_assert_int_eq(ring.floor, 0);
        ck_assert_int_eq(ring.head, 0);
    }
}
END_TEST

/* A subscriber at the floor or above reads the frames after its cursor, in order; with none
 * left it skips to head, over positions that were never events of the feed. */
START_TEST(test_push_and_take)
{
    live_ring_init(&ring, 8);
    add((int64_t[]){3, 5, 9}, 3, 10);
    ck_assert_int_eq(ring.head, 10);
    ck_assert(live_ring_serves(&ring, 0));
    struct frame out[8];
    int64_t cursor = 4;
    ck_assert_uint_eq(live_ring_after(&ring, &cursor, out, 8), 2);
    ck_assert_int_eq(out[0].position, 5);
    ck_assert_int_eq(out[1].position, 9);
    ck_assert_int_eq(cursor, 4); /* the caller moves it as it sends */
    cursor = 0;
    ck_assert_uint_eq(live_ring_after(&ring, &cursor, out, 2), 2); /* at most max */
    ck_assert_int_eq(out[1].position, 5);
    cursor = 9;
    ck_assert_uint_eq(live_ring_after(&ring, &cursor, out, 8), 0);
    ck_assert_int_eq(cursor, 10);
}
END_TEST

/* A full ring drops its oldest frame and raises the floor to it: a subscriber below that must
 * read the database, one at the floor still misses nothing. */
START_TEST(test_floor_rises)
{
    live_ring_init(&ring, 3);
    add((int64_t[]){1, 2, 3, 4, 5}, 5, 5);
    ck_assert_uint_eq(ring.count, 3);
    ck_assert_int_eq(ring.floor, 2);
    ck_assert(!live_ring_serves(&ring, 1));
    ck_assert(live_ring_serves(&ring, 2));
    struct frame out[8];
    int64_t cursor = 2;
    ck_assert_uint_eq(live_ring_after(&ring, &cursor, out, 8), 3);
    ck_assert_int_eq(out[0].position, 3);
    ck_assert_int_eq(out[2].position, 5);
}
END_TEST

/* A PersonalDataForgotten empties the ring at the page's end: frames rendered before it may
 * show the owner, so everyone behind reads the database, where the key is gone. */
START_TEST(test_clear_on_forget)
{
    live_ring_init(&ring, 8);
    add((int64_t[]){1, 2}, 2, 2);
    struct frame f[2] = {ev(3, "FundsDeposited"), ev(4, "PersonalDataForgotten")};
    live_ring_add(&ring, f, 2, 6);
    ck_assert_uint_eq(ring.count, 0);
    ck_assert_int_eq(ring.floor, 6);
    ck_assert_int_eq(ring.head, 6);
    ck_assert(!live_ring_serves(&ring, 2));
    ck_assert(live_ring_serves(&ring, 6));
    add((int64_t[]){7}, 1, 7); /* and fills again from there */
    struct frame out[8];
    int64_t cursor = 6;
    ck_assert_uint_eq(live_ring_after(&ring, &cursor, out, 8), 1);
    ck_assert_int_eq(out[0].position, 7);
}
END_TEST

/* A gap wider than the ring, or nobody listening: empty at the new head; a subscriber who was
 * up to date before is now below the floor and resumes from the database. */
START_TEST(test_restart_resumes_below_floor)
{
    live_ring_init(&ring, 4);
    add((int64_t[]){1, 2}, 2, 2);
    live_ring_restart(&ring, 5000);
    ck_assert_uint_eq(ring.count, 0);
    ck_assert(!live_ring_serves(&ring, 2));
    ck_assert(live_ring_serves(&ring, 5000));
    struct frame out[4];
    int64_t cursor = 5000;
    ck_assert_uint_eq(live_ring_after(&ring, &cursor, out, 4), 0);
    ck_assert_int_eq(cursor, 5000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("live");
    TCase *t = tcase_create("ring");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, test_frame_render);
    tcase_add_test(t, test_settings);
    tcase_add_test(t, test_push_and_take);
    tcase_add_test(t, test_floor_rises);
    tcase_add_test(t, test_clear_on_forget);
    tcase_add_test(t, test_restart_resumes_below_floor);
    suite_add_tcase(s, t);
    return run_suite(s);
}
