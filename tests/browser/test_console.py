"""The console in a real headless Chromium against the harness's real services: find an account,
move the time slider back, watch the live feed (and its resume after a restart), see a broken
chain and a forgotten owner, hostile data shown as text with no script run, the token prompt,
a 375 px screen. Every request the pages make is recorded and must stay on the service's own
origin; screenshots of each page go to <run dir>/browser/."""

import json
import os
import unittest

import harness
from cdp import Browser
from harness import new_id, sql_literal
from ops_support import ExtraService

SETTLE_S = 30.0  # deadline for anything the page shows after a request (a busy machine)
# Counts CSP violations in the page (an injected script: CSP does not apply to it).
WATCH_CSP = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "(e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


def text_of(selector):
    return "(document.querySelector(%s) || {}).textContent" % json.dumps(selector)


def view_value(key):
    """JavaScript: the text of the stream view's row for key, or null."""
    return ("(() => { const r = document.querySelector('#view tr[data-key=%s] td'); "
            "return r ? r.textContent : null; })()" % json.dumps(key))


class ConsoleTest(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        env = harness.env()
        cls.query = env.service("query")
        cls.cmd = harness.command()
        cls.shots = os.path.join(env.run_dir, "browser")
        os.makedirs(cls.shots, exist_ok=True)
        cls.browser = Browser(os.path.join(env.run_dir, "chromium.log"))

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.cmd.close()

    def setUp(self):
        self.pages = []

    def tearDown(self):
        with open(os.path.join(self.shots, "requests.txt"), "a") as f:
            for page in self.pages:
                f.writelines("%s %s %s\n" % (self.id(), m, u) for m, u, _ in page.requests)
        for page in self.pages:
            self.assert_own_origin(page)
            self.assertEqual(page.problems, [], "the page reported problems")
            self.assertEqual(page.eval("window.__csp"), [], "CSP violations")
            self.browser.call("Target.closeTarget", {"targetId": page.target})

    # --- helpers ------------------------------------------------------------------------------

    def open_console(self, hash_="", width=1280, service=None):
        page = self.browser.new_page(width=width, height=900)
        self.pages.append(page)
        page.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH_CSP)
        page.origin = (service or self.query).url
        page.goto(page.origin + "/console" + hash_)
        return page

    def assert_own_origin(self, page):
        # data: URLs are no requests (Chromium's date input draws its icon from one).
        foreign = [u for _, u, _ in page.requests
                   if not u.startswith((page.origin + "/", "data:"))]
        self.assertEqual(foreign, [], "requests left the console's origin")
        self.assertTrue(page.requests, "no request recorded: the recorder is broken")

    def shot(self, page, name):
        path = page.screenshot(os.path.join(self.shots, name + ".png"))
        self.assertGreater(os.path.getsize(path), 1000)

    def post(self, path, body, headers=None):
        r = self.cmd.post(path, body, headers=headers)
        self.assertLess(r.status, 300, r)
        return r.body

    def account(self, owner="Alice", amounts=(), headers=None):
        """A new account with a deposit of each amount (a negative one withdraws); returns its
        id and the position of its last event."""
        acc = new_id("acc-")[:20]
        last = self.post("/v1/accounts", {"account_id": acc, "owner": owner, "currency": "EUR"},
                         headers)["position"]
        for a in amounts:
            kind = "deposit" if a > 0 else "withdraw"
            last = self.post("/v1/accounts/%s/%s" % (acc, kind),
                             {"amount_cents": abs(a), "reference": "r%d" % a},
                             headers)["position"]
        return acc, last

    def projected(self, position):
        """Waits until the read tables hold position (read-your-writes on the API)."""
        q = harness.query()
        try:
            r = q.get("/v1/projections?min_position=%d&wait_ms=30000" % position)
            self.assertEqual(r.status, 200, r)
        finally:
            q.close()

    def find(self, page, what, version):
        """Types what into the stream page's search and waits for the view at version."""
        page.eval("location.hash = '#stream'")
        page.wait_for("!document.getElementById('page-stream').hidden")
        page.type_into("#find-id", what)
        page.wait_for(view_value("version") + " === %s" % json.dumps(str(version)),
                      SETTLE_S, "the view at version %d" % version)

    # --- tests --------------------------------------------------------------------------------

    def test_overview_shows_projections(self):
        _, last = self.account(amounts=(100,))
        self.projected(last)
        page = self.open_console()
        page.wait_for("[...document.querySelectorAll('#projections tbody td')]"
                      ".some((td) => td.textContent === 'read_model')", SETTLE_S)
        page.wait_for("Number(%s) >= %d" % (text_of("#head"), last), SETTLE_S)
        paint = page.eval("(performance.getEntriesByName('first-contentful-paint')[0] || {})"
                          ".startTime")
        print("\nfirst contentful paint: %s ms" % paint)
        self.shot(page, "overview")

    def test_time_slider_shows_an_earlier_balance(self):
        acc, last = self.account(amounts=(1000, 2500, -500))  # balances 1000, 3500, 3000
        self.projected(last)
        page = self.open_console()
        self.find(page, acc, 4)
        self.assertEqual(page.eval(view_value("balance_cents")), "3000")
        self.assertEqual(page.eval(text_of("#verdict")), "chain intact · 4 events checked")
        page.eval("document.getElementById('slider').focus()")
        page.press("ArrowLeft", 37, times=2)
        page.wait_for(view_value("version") + " === '2'", SETTLE_S, "the view at version 2")
        self.assertEqual(page.eval(view_value("balance_cents")), "1000")
        # What the event changed is marked, and its row in the trail is the current one.
        self.assertEqual(page.eval("[...document.querySelectorAll('#view tr.changed')]"
                                   ".map((r) => r.dataset.key)"), ["balance_cents"])
        self.assertEqual(page.eval("document.querySelector('#trail tr.current').dataset"
                                   ".version"), "2")
        self.assertEqual(page.eval(text_of("#slider-time")).split(" · ")[0], "FundsDeposited")
        self.shot(page, "stream")
        # as_of: the time of the third event shows the balance after it.
        at = harness.sql_value("SELECT to_char(recorded_at AT TIME ZONE 'UTC', "
                               "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM events WHERE "
                               "stream_id = %s AND stream_version = 3"
                               % sql_literal("account-" + acc))
        page.type_into("#asof-at", at)
        page.wait_for(view_value("version") + " === '3'", SETTLE_S, "the view as of v3")
        self.assertEqual(page.eval(view_value("balance_cents")), "3500")

    def test_live_event_arrives_after_a_post(self):
        page = self.open_console("#live")
        page.wait_for(text_of("#conn") + " === 'live'", SETTLE_S, "the live feed connected")
        acc, _ = self.account()
        page.type_into("#filter-prefix", "account-" + acc, submit=False)
        self.post("/v1/accounts/%s/deposit" % acc, {"amount_cents": 4242})
        rows = ("[...document.querySelectorAll('#feed tbody tr')].map((r) => "
                "[...r.cells].map((c) => c.textContent))")
        page.wait_for("(%s).some((c) => c[3] === 'FundsDeposited')" % rows, SETTLE_S,
                      "the deposit in the live feed")
        got = page.eval(rows)
        self.assertEqual([(c[1], c[3]) for c in got],
                         [("account-" + acc, "FundsDeposited"), ("account-" + acc,
                                                                 "AccountOpened")])
        self.assertEqual(json.loads(got[0][5])["amount_cents"], 4242)
        self.shot(page, "live")

    def test_live_feed_resumes_after_a_restart_without_gap_or_repeat(self):
        page = self.open_console("#live")
        page.wait_for(text_of("#conn") + " === 'live'", SETTLE_S, "the live feed connected")
        acc, _ = self.account(amounts=(1,))
        page.type_into("#filter-prefix", "account-" + acc, submit=False)
        count = "document.querySelectorAll('#feed tbody tr').length"
        page.wait_for("%s === 2" % count, SETTLE_S, "the account's first two events")
        self.query.stop()
        try:
            self.post("/v1/accounts/%s/deposit" % acc, {"amount_cents": 2})  # while it is down
        finally:
            self.query.start(ready=True)
        self.post("/v1/accounts/%s/deposit" % acc, {"amount_cents": 3})
        page.wait_for("%s >= 4" % count, SETTLE_S, "the events from before and after")
        positions = page.eval("[...document.querySelectorAll('#feed tbody tr')]"
                              ".map((r) => Number(r.dataset.position))")
        self.assertEqual(len(positions), 4, positions)
        self.assertEqual(positions, sorted(set(positions), reverse=True), positions)
        resumed = [h for m, u, h in page.requests if "/v1/events/live" in u][1:]
        self.assertTrue(resumed, "no reconnect recorded")
        self.assertTrue(all(h.get("Last-Event-ID") for h in resumed), resumed)

    def test_tampered_stream_is_reported_broken(self):
        acc, last = self.account(amounts=(10, 20, 30))
        self.projected(last)
        stream = "account-" + acc
        harness.sql("SET session_replication_role = replica; UPDATE events SET data = "
                    "jsonb_set(data, '{amount_cents}', '2000') WHERE stream_id = %s AND "
                    "stream_version = 3" % sql_literal(stream))
        broken = harness.sql_value("SELECT position FROM events WHERE stream_id = %s AND "
                                   "stream_version = 3" % sql_literal(stream))
        page = self.open_console()
        self.find(page, stream, 4)
        self.assertEqual(page.eval(text_of("#verdict")), "chain broken at position " + broken)
        self.assertIn("bad", page.eval("document.getElementById('verdict').className"))
        self.shot(page, "stream-broken")

    def test_forgotten_owner_shows_as_forgotten(self):
        acc, _ = self.account(owner="Erika Mustermann", amounts=(700,))
        last = self.post("/v1/accounts/%s/forget" % acc, {})["position"]
        self.projected(last)
        page = self.open_console()
        self.find(page, acc, 3)
        self.assertEqual(page.eval(view_value("owner")), "[forgotten]")
        self.assertEqual(page.eval(view_value("balance_cents")), "700")
        page.eval("location.hash = '#people'")
        row = "document.querySelector('#accounts tr[data-account=%s]')" % json.dumps(acc)
        page.wait_for("!!" + row, SETTLE_S, "the account in the list")
        self.assertEqual(page.eval(row + ".cells[1].textContent"), "[forgotten]")
        self.assertNotIn("Erika", page.eval("document.body.textContent"))
        self.shot(page, "customers")

    def test_hostile_data_is_shown_as_text_and_runs_nothing(self):
        owner = "<script>window.__pwned = 1; document.title = 'pwned'</script>"
        reference = '"><img src=/console/pwned.png onerror="window.__pwned = 2">'
        actor = "<svg onload=window.__pwned=3>"
        acc, _ = self.account(owner=owner, headers={"X-Actor": actor})
        last = self.post("/v1/accounts/%s/deposit" % acc,
                         {"amount_cents": 5, "reference": reference},
                         headers={"X-Actor": actor})["position"]
        self.projected(last)
        page = self.open_console()
        self.find(page, acc, 2)
        self.assertEqual(page.eval(view_value("owner")), owner)
        trail = page.eval("[...document.querySelectorAll('#trail tbody tr')].map((r) => "
                          "[...r.cells].map((c) => c.textContent))")
        self.assertEqual(json.loads(trail[0][7])["owner"], owner)
        self.assertEqual(json.loads(trail[1][7])["reference"], reference)
        self.assertEqual([r[4] for r in trail], [actor, actor])
        page.eval("location.hash = '#live'")
        page.wait_for("[...document.querySelectorAll('#feed td')].some((td) => "
                      "td.textContent.includes('pwned.png'))", SETTLE_S, "the feed row")
        self.shot(page, "hostile")
        self.assertIsNone(page.eval("window.__pwned"), "a payload ran")
        self.assertEqual(page.eval("document.title"), "orderly console")
        self.assertEqual(page.eval("document.querySelectorAll('main img, main script, "
                                   "main svg').length"), 0)
        self.assertFalse([u for _, u, _ in page.requests if "pwned" in u])

    def test_read_tokens_the_console_asks_for_one(self):
        svc = ExtraService("query", {"READ_TOKENS": "tok-read"})
        svc.start()
        self.addCleanup(svc.stop)
        svc.wait_ready()
        page = self.open_console(service=svc)
        page.wait_for("!document.getElementById('auth').hidden", SETTLE_S, "the token prompt")
        self.assertEqual(page.eval(text_of("#conn")), "token needed")
        page.type_into("#token", "tok-wrong")
        page.wait_for(text_of("#auth-why") + ".includes('refused')", SETTLE_S, "a refusal")
        page.type_into("#token", "tok-read")
        page.wait_for("[...document.querySelectorAll('#projections td')].some((td) => "
                      "td.textContent === 'read_model')", SETTLE_S, "projections with a token")
        page.wait_for(text_of("#conn") + " === 'live'", SETTLE_S, "the live feed with a token")
        self.assertEqual(page.eval("sessionStorage.getItem('orderly.read_token')"), "tok-read")
        self.assertTrue(page.eval("document.getElementById('auth').hidden"))
        api = [(u, h) for _, u, h in page.requests if "/v1/" in u]
        self.assertEqual(api[-1][1].get("Authorization"), "Bearer tok-read", api[-1])
        self.shot(page, "token")

    def test_usable_at_375_px(self):
        acc, last = self.account(amounts=(100, 200))
        self.projected(last)
        page = self.open_console(width=375)
        self.find(page, acc, 3)
        filled = {"stream": "#trail tbody tr", "overview": "#projections tbody tr",
                  "live": "#feed tbody tr", "people": "#accounts tbody tr"}
        for name, rows in filled.items():
            page.eval("location.hash = '#%s'" % name)
            page.wait_for("!document.getElementById('page-%s').hidden && "
                          "!!document.querySelector(%s)" % (name, json.dumps(rows)), SETTLE_S,
                          "the %s page with its data" % name)
            # Reading scrollWidth lays the page out first: no wait needed.
            width = page.eval("document.documentElement.scrollWidth")
            self.assertLessEqual(width, 375, "%s scrolls sideways at 375 px" % name)
            self.shot(page, "narrow-" + name)

if __name__ == "__main__":
    unittest.main()
