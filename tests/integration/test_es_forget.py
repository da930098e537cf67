"""Forgetting a person without rewriting history (docs/forgetting.md): owners are stored sealed
with a per-account key; POST /v1/accounts/{id}/forget deletes the key and appends
PersonalDataForgotten, after which every reader shows "[forgotten]", balances and the hash chain
stay intact, and the plain text is in no table."""

import json
import urllib.parse

from harness import new_id, sql, sql_literal, sql_value, wait_until
from live_support import SSE
from query_support import QueryTest

FORGOTTEN = "[forgotten]"


def tables_holding(text):
    """Every table of the service's schema (and snapshots) whose rows' text contains `text`."""
    names = [r[0] for r in sql("SELECT tablename FROM pg_tables WHERE schemaname = "
                               "current_schema() ORDER BY tablename")]
    return [t for t in names
            if int(sql_value("SELECT count(*) FROM %s x WHERE x::text LIKE %s"
                             % (t, sql_literal("%" + text + "%")))) > 0]


class ForgetTest(QueryTest):
    def forget(self, acc, **kw):
        return self.cmd.post("/v1/accounts/%s/forget" % acc, **kw)

    def live_owner(self, after, acc):
        """The owner in the live feed's AccountOpened of acc, streaming from `after`."""
        s = SSE(self.q.port, "/v1/events/live?after_position=%d" % after)
        try:
            def opened(s):
                return [e for e in s.events() if e.get("event") == "AccountOpened"
                        and ('"account_id":"%s"' % acc) in e.get("data", "")]
            self.assertTrue(s.read_until(opened, 10.0), s.body[-400:])
            return json.loads(opened(s)[0]["data"])["data"]["owner"]
        finally:
            s.close()

    def owners_everywhere(self, acc, opened_at, pos):
        """The owner as the view, audit trail, feed, as_of and version queries show it."""
        view = self.get_fresh("/v1/accounts/" + acc, pos).body
        trail = self.q.get("/v1/streams/account-%s/events" % acc).body["events"]
        feed = self.q.get("/v1/events?after_position=%d&limit=1" % (opened_at - 1)).body
        as_of = self.q.get("/v1/accounts/%s?as_of=%s" % (acc, view["updated_at"])).body
        v1 = self.q.get("/v1/accounts/%s?version=1" % acc).body
        return {"view": view["owner"], "trail": trail[0]["data"]["owner"],
                "feed": feed["events"][0]["data"]["owner"], "as_of": as_of["owner"],
                "version": v1["owner"], "balance": view["balance_cents"],
                "as_of_balance": as_of["balance_cents"]}

    def test_es_forget_everywhere(self):
        acc = new_id("fg")[:16]
        owner = "Pii" + new_id("")[:12].replace("-", "")
        opened_at = self.open_account(acc, owner=owner)["position"]
        pos = self.deposit(acc, 700)["position"]

        # Sealed in the log, opened for readers.
        self.assertEqual(int(sql_value("SELECT count(*) FROM events WHERE data::text LIKE %s"
                                       % sql_literal("%" + owner + "%"))), 0)
        stored = sql_value("SELECT data->>'owner' FROM events WHERE stream_id = %s AND "
                           "stream_version = 1" % sql_literal("account-" + acc))
        self.assertTrue(stored.startswith("enc:v1:"), stored)
        self.assertEqual(sql_value("SELECT length(key) FROM account_keys WHERE account_id = %s"
                                   % sql_literal(acc)), "32")
        before = self.owners_everywhere(acc, opened_at, pos)
        self.assertEqual(before, {"view": owner, "trail": owner, "feed": owner, "as_of": owner,
                                  "version": owner, "balance": 700, "as_of_balance": 700})
        listed = self.q.get("/v1/accounts?owner=" + owner).body["items"]
        self.assertEqual([a["account_id"] for a in listed], [acc])
        self.assertEqual(self.live_owner(opened_at - 1, acc), owner)  # also fills the ring

        r = self.forget(acc, raw="", headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual([e["type"] for e in r.body["events"]], ["PersonalDataForgotten"])
        self.assertEqual(r.body["version"], 3)
        self.assert_problem(self.forget(acc, body={}), 409, "already-forgotten")
        self.assert_problem(self.forget(new_id("nobody")[:20], body={}), 404, "not-found")
        self.assert_problem(self.forget(acc, body={"owner": "x"}), 422, "validation-error")

        after = self.owners_everywhere(acc, opened_at, r.body["position"])
        self.assertEqual(after, {"view": FORGOTTEN, "trail": FORGOTTEN, "feed": FORGOTTEN,
                                 "as_of": FORGOTTEN, "version": FORGOTTEN, "balance": 700,
                                 "as_of_balance": 700})
        # The live feed's fetcher drops its ring of rendered frames when it meets the
        # PersonalDataForgotten, a moment after the projector applied it.
        self.assertTrue(wait_until(lambda: self.live_owner(opened_at - 1, acc) == FORGOTTEN,
                                   5.0, 0.05))
        trail = self.q.get("/v1/streams/account-%s/events" % acc).body["events"]
        self.assertEqual(trail[-1]["type"], "PersonalDataForgotten")
        self.assertEqual(trail[-1]["data"], {"account_id": acc})
        self.assertEqual(self.q.get("/v1/accounts?owner=" + owner).body["items"], [])
        listed = self.q.get("/v1/accounts?limit=500&owner=" + urllib.parse.quote(FORGOTTEN))
        self.assertIn(acc, [a["account_id"] for a in listed.body["items"]])
        verify = self.q.get("/v1/streams/account-%s/verify" % acc).body
        self.assertEqual((verify["ok"], verify["checked"]), (True, 3), verify)

        # Nothing left to open it with, and the plain text is in no table.
        self.assertEqual(sql_value("SELECT count(*) FROM account_keys WHERE account_id = %s"
                                   % sql_literal(acc)), "0")
        self.assertEqual(tables_holding(owner), [])
        # The account still works; its owner stays forgotten.
        pos = self.deposit(acc, 5)["position"]
        view = self.get_fresh("/v1/accounts/" + acc, pos).body
        self.assertEqual((view["owner"], view["balance_cents"]), (FORGOTTEN, 705))

    def test_es_forget_closed_account_snapshots_and_idempotency(self):
        """A closed account can be forgotten; a snapshot holds the sealed owner, never the plain
        one; an Idempotency-Key stores a hash of the request and a body without the owner."""
        acc = new_id("fs")[:16]
        owner = "Snap" + new_id("")[:12].replace("-", "")
        self.open_account(acc, owner=owner, headers={"Idempotency-Key": "open-" + acc})
        for _ in range(101):  # past SNAPSHOT_EVERY (20): a snapshot is stored on the way
            self.deposit(acc, 1)
        self.post_ok("/v1/accounts/%s/withdraw" % acc, {"amount_cents": 101})
        self.post_ok("/v1/accounts/%s/close" % acc, {})
        snap = sql_value("SELECT state->>'owner' FROM snapshots WHERE stream_id = %s"
                         % sql_literal("account-" + acc))
        self.assertTrue(snap and snap.startswith("enc:v1:"), snap)
        idem = sql("SELECT request_hash, body FROM idempotency_keys WHERE key = %s"
                   % sql_literal("open-" + acc))
        self.assertEqual(len(idem), 1)
        self.assertNotIn(owner, "".join(idem[0]))
        self.assertEqual(self.get_fresh("/v1/accounts/%s?version=101" % acc, 0).body["owner"],
                         owner)  # from the snapshot, opened with the key

        r = self.forget(acc, body={})
        self.assertEqual(r.status, 200, r)
        view = self.get_fresh("/v1/accounts/" + acc, r.body["position"]).body
        self.assertEqual((view["owner"], view["status"], view["balance_cents"], view["version"]),
                         (FORGOTTEN, "closed", 0, 105))
        self.assertEqual(self.q.get("/v1/accounts/%s?version=101" % acc).body["owner"],
                         FORGOTTEN)
        self.assertEqual(tables_holding(owner), [])
