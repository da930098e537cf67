"""GET /v1/views (query-service/views_http.c): a projection defined in SQL served over HTTP.
This module registers views of its own the way an operator does (a projections folder and
`command-service migrate`), waits until the running query service has built them, and reads
them: declared filters, keyset pages, keys of one and two columns, the 400s and 404s,
read-your-writes with min_position, X-Projection-Position, and a failed view's 503."""

import base64
import os
import subprocess
import tempfile
import unittest
import urllib.parse

import harness
from harness import new_id

# Deposits by (account, position), listed by reference (NULL for an empty one, so the keyset
# must walk past NULLs too) and then by the key. A reference 'boom-<name>' makes it raise.
DEPOSITS = """
CREATE TABLE deposits (
    account_id text NOT NULL,
    position   bigint NOT NULL,
    cents      bigint NOT NULL,
    reference  text,
    PRIMARY KEY (account_id, position)
);
CREATE FUNCTION handle(e orderly_event) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF e.data->>'reference' = 'boom-NAME' THEN
        RAISE EXCEPTION 'deposit % is not welcome here', e.position;
    END IF;
    INSERT INTO deposits VALUES (e.data->>'account_id', e.position,
                                 (e.data->>'amount_cents')::bigint,
                                 nullif(e.data->>'reference', ''));
END $$;
SELECT orderly_view_declare(event_types => ARRAY['FundsDeposited'], view_table => 'deposits',
                            key_columns => ARRAY['account_id', 'position'],
                            filter_columns => ARRAY['cents'],
                            order_columns => ARRAY['reference']);
"""


def register(name, text):
    """Registers projections/NAME.sql as `command-service migrate` does for an operator."""
    with tempfile.TemporaryDirectory(prefix="views-http-") as folder:
        with open(os.path.join(folder, name + ".sql"), "w") as f:
            f.write(text)
        env = harness.env()
        run_env = dict(os.environ, **env.service_env())
        run_env["PROJECTIONS_DIR"] = folder
        p = subprocess.run([env.binary("command"), "migrate"], env=run_env,
                           capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("migrate: %s%s" % (p.stdout, p.stderr))


def wait_live(q, name):
    """Until the query service serves name (its builder caught it up and swapped it in)."""
    ok = harness.wait_until(lambda: q.get("/v1/views/%s?limit=1" % name).status == 200)
    if not ok:
        raise AssertionError("%s never went live: %s" % (name, harness.sql(
            "SELECT state, status, error, position FROM orderly_views WHERE name = '%s'"
            % name)))


def q(value):
    return urllib.parse.quote(str(value), safe="")


class ViewsHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cmd = harness.command()
        cls.qry = harness.query()
        cls.name = "vh_" + new_id()[:12]
        register(cls.name, DEPOSITS.replace("NAME", cls.name))
        wait_live(cls.qry, cls.name)

    @classmethod
    def tearDownClass(cls):
        cls.cmd.close()
        cls.qry.close()

    def account(self):
        r = self.cmd.post("/v1/accounts", {"owner": "o", "currency": "EUR"})
        self.assertEqual(r.status, 201, r)
        return r.body["id"]

    def deposit(self, account, cents, reference=""):
        r = self.cmd.post("/v1/accounts/%s/deposit" % account,
                          {"amount_cents": cents, "reference": reference})
        self.assertEqual(r.status, 200, r)
        return r.body["position"]

    def get(self, path, status=200):
        r = self.qry.get("/v1/views/%s%s" % (self.name, path))
        self.assertEqual(r.status, status, r)
        self.assertIn("X-Projection-Position", r.headers)
        return r

    def walk(self, query, limit):
        """Every row of a filtered list, page by page; and the number of pages."""
        rows, cursor, pages = [], None, 0
        while True:
            path = "?%s&limit=%d" % (query, limit)
            if cursor:
                path += "&cursor=" + q(cursor)
            body = self.get(path).body
            self.assertLessEqual(len(body["items"]), limit)
            rows += body["items"]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                return rows, pages

    def test_keyset_pages_walk_every_row_once_in_declared_order(self):
        a, b = self.account(), self.account()
        refs = ["r1", "r1", "", "r0", "", "r2", "r1", "", "r0"]
        want = [(r or None, a, self.deposit(a, 100 + i, r)) for i, r in enumerate(refs)]
        last = self.deposit(b, 5, "r0")  # another account's row: the filter keeps it out
        self.get("?account_id=%s&min_position=%d" % (a, last))
        # reference ascending with NULLs last, then the key (account_id, position)
        want.sort(key=lambda t: (t[0] is None, t[0] or "", t[1], t[2]))
        for limit in (1, 2, 4, 9, 50):
            with self.subTest(limit=limit):
                rows, pages = self.walk("account_id=%s" % a, limit)
                got = [(r["reference"], r["account_id"], r["position"]) for r in rows]
                self.assertEqual(got, want)
                self.assertEqual(pages, max(1, -(-len(want) // limit)))

    def test_filters_combine_on_declared_columns(self):
        a = self.account()
        p1 = self.deposit(a, 700, "x")
        self.deposit(a, 800, "x")
        p3 = self.deposit(a, 700, "")
        body = self.get("?account_id=%s&cents=700&min_position=%d" % (a, p3)).body
        self.assertEqual([r["position"] for r in body["items"]], [p1, p3])
        self.assertEqual(body["next_cursor"], None)
        self.assertEqual(self.get("?account_id=%s&cents=1" % a).body["items"], [])
        # A key column alone filters too.
        self.assertEqual(len(self.get("?position=%d" % p1).body["items"]), 1)

    def test_by_key_of_two_columns(self):
        a = self.account()
        p = self.deposit(a, 321, "k")
        r = self.get("/%s/%d?min_position=%d" % (q(a), p, p))
        self.assertEqual(r.body, {"account_id": a, "position": p, "cents": 321, "reference": "k"})
        self.get("/%s/%d" % (q(a), p + 10 ** 9), 404)
        self.get("/%s" % q(a), 404)  # one segment for a key of two columns
        self.get("/%s/%d/x" % (q(a), p), 404)
        self.assertEqual(self.get("/%s/abc" % q(a), 400).body["status"], 400)  # bigint key

    def test_by_key_of_one_column_on_a_shipped_view(self):
        wait_live(self.qry, "awaiting_shipment")
        r = self.qry.get("/v1/views/awaiting_shipment/%s" % new_id())
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.headers.get("Content-Type"), "application/problem+json")

    def test_unknown_view_is_404(self):
        for name in ("nothing_" + new_id()[:8], "Upper", "a" * 41, "1abc"):
            with self.subTest(name=name):
                r = self.qry.get("/v1/views/%s" % name)
                self.assertEqual(r.status, 404, r)
                self.assertEqual(r.body["type"], harness.problem_base + "not-found")
                self.assertIn("X-Projection-Position", r.headers)
                self.assertEqual(self.qry.get("/v1/views/%s/k" % name).status, 404)

    def test_undeclared_or_unknown_parameters_are_400(self):
        cases = {
            "?nope=1": "nope is not a parameter of this view",
            "?reference=r1": "reference is not a parameter of this view",  # a column, not a filter
            "?cents=1&cents=2": "cents is given twice",
            "?cents": "cents needs a value",
            "?cents=abc": "a value is not one its column accepts",
            "?position=1.5": "a value is not one its column accepts",
            "?limit=0": "limit must be an integer between 1 and 500",
            "?limit=501": "limit must be an integer between 1 and 500",
            "?cursor=abc": "cursor is not one this view returned",
            "?cursor=" + base64.urlsafe_b64encode(b'["a"]').decode().rstrip("="):
                "cursor is not one this view returned",
            "/a/1?cents=1": "cents is not a parameter of this view",  # a row takes no filters
            "/a/1?limit=1": "limit is not a parameter of this view",
        }
        for path, detail in cases.items():
            with self.subTest(path=path):
                r = self.get(path, 400)
                self.assertEqual(r.headers.get("Content-Type"), "application/problem+json")
                self.assertEqual(r.body["type"], harness.problem_base + "bad-parameter")
                self.assertEqual(r.body["detail"], detail)

    def test_a_tampered_cursor_value_is_400_not_500(self):
        # The right shape (three sort values: reference, account_id, position), a bad bigint.
        cursor = base64.urlsafe_b64encode(b'["r", "a", "x"]').decode().rstrip("=")
        self.get("?cursor=" + cursor, 400)

    def test_min_position_reads_your_write_and_the_header_is_the_views_position(self):
        a = self.account()
        for i in range(5):
            p = self.deposit(a, 10 + i, "ryw")
            r = self.get("/%s/%d?min_position=%d" % (q(a), p, p))
            self.assertEqual(r.body["cents"], 10 + i)
            self.assertGreaterEqual(int(r.headers.get("X-Projection-Position")), p)
            r = self.get("?account_id=%s&min_position=%d" % (a, p))
            self.assertEqual(len(r.body["items"]), i + 1)
            seen = int(r.headers.get("X-Projection-Position"))
            self.assertGreaterEqual(seen, p)
            now = int(harness.sql_value("SELECT position FROM orderly_views WHERE name = '%s' "
                                        "AND state = 'live'" % self.name))
            self.assertLessEqual(seen, now)
        # The header holds a position that was in the catalog: no row above it is shown.
        r = self.get("?account_id=%s" % a)
        header = int(r.headers.get("X-Projection-Position"))
        self.assertTrue(all(row["position"] <= header for row in r.body["items"]))

    def test_min_position_beyond_the_log_is_503(self):
        r = self.get("?min_position=%d&wait_ms=10" % 10 ** 15, 503)
        self.assertEqual(r.body["type"], harness.problem_base + "projection-behind")
        self.assertEqual(r.headers.get("Retry-After"), "1")


class FailedViewTest(unittest.TestCase):
    """A view whose handler raised stays behind the read model: min_position past its failure
    answers 503 naming the view and its error, while the rows it has stay readable."""

    def test_failed_view_is_503_with_its_error(self):
        cmd, qry = harness.command(), harness.query()
        name = "vf_" + new_id()[:12]
        register(name, DEPOSITS.replace("NAME", name))
        wait_live(qry, name)
        a = cmd.post("/v1/accounts", {"owner": "o", "currency": "EUR"}).body["id"]
        ok = cmd.post("/v1/accounts/%s/deposit" % a, {"amount_cents": 1}).body["position"]
        self.assertEqual(qry.get("/v1/views/%s/%s/%d?min_position=%d"
                                 % (name, a, ok, ok)).status, 200)
        bad = cmd.post("/v1/accounts/%s/deposit" % a,
                       {"amount_cents": 2, "reference": "boom-" + name}).body["position"]
        r = qry.get("/v1/views/%s?min_position=%d" % (name, bad))
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.body["type"], harness.problem_base + "projection-behind")
        self.assertIn(name, r.body["detail"])
        self.assertIn("is not welcome here", r.body["detail"])
        self.assertLess(int(r.headers.get("X-Projection-Position")), bad)
        r = qry.get("/v1/views/%s?account_id=%s" % (name, a))
        self.assertEqual((r.status, len(r.body["items"])), (200, 1))
        cmd.close()
        qry.close()


if __name__ == "__main__":
    unittest.main()
