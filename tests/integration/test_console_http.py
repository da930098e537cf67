"""The console's HTTP side (query-service/console/): the page and the files it names are served
from the binary with a strict Content-Security-Policy and their content types, nothing else
under /console exists, the whole console stays under 60 KB, and READ_TOKENS does not lock the
page itself out (it asks for a token; a browser cannot send one when it opens a page)."""

import re

import harness
from harness import Client
from ops_support import OpsTest

BUDGET_BYTES = 60 * 1024
TYPES = {"/console": "text/html; charset=utf-8",
         "/console/console.js": "text/javascript; charset=utf-8",
         "/console/console.css": "text/css; charset=utf-8"}
CSP_DIRECTIVES = {"default-src 'none'", "script-src 'self'", "style-src 'self'",
                  "connect-src 'self'", "img-src 'self'", "base-uri 'none'",
                  "form-action 'none'", "frame-ancestors 'none'",
                  "require-trusted-types-for 'script'", "trusted-types 'none'"}


class ConsoleHttpTest(OpsTest):
    @classmethod
    def setUpClass(cls):
        cls.q = harness.query()

    @classmethod
    def tearDownClass(cls):
        cls.q.close()

    def test_files_carry_their_type_and_a_strict_policy(self):
        for path, ctype in TYPES.items():
            with self.subTest(path=path):
                r = self.q.get(path)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get("Content-Type"), ctype)
                csp = r.headers.get("Content-Security-Policy", "")
                self.assertEqual({d.strip() for d in csp.split(";")}, CSP_DIRECTIVES)
                self.assertNotIn("unsafe", csp)
                self.assertEqual(r.headers.get("X-Content-Type-Options"), "nosniff")
                self.assertEqual(r.headers.get("Referrer-Policy"), "no-referrer")
                self.assertIn("X-Projection-Position", r.headers)
                head = self.q.request("HEAD", path)
                self.assertEqual((head.status, head.raw), (200, b""))
                self.assertEqual(head.headers.get("Content-Length"), str(len(r.raw)))

    def test_page_names_only_its_own_files_and_fits_the_budget(self):
        page = self.q.get("/console")
        self.assertEqual(page.status, 200, page)
        html = page.raw.decode()
        named = re.findall(r'(?:src|href)="([^"#]*)"', html)
        self.assertEqual(sorted(named), ["/console/console.css", "/console/console.js"])
        self.assertNotRegex(html, r"<script(?![^>]*\bsrc=)", "inline script")
        self.assertNotIn(" style=", html)
        self.assertNotRegex(html, r"\son[a-z]+=", "inline event handler")
        total = len(page.raw)
        for path in named:
            r = self.q.get(path)
            self.assertEqual(r.status, 200, r)
            self.assertNotIn("innerHTML", r.raw.decode())
            total += len(r.raw)
        self.assertLess(total, BUDGET_BYTES, "the console is %d bytes" % total)

    def test_other_console_paths_are_404_problems(self):
        for path in ("/console/index.html", "/console/embed.c", "/console/console.c",
                     "/console/console.h", "/console/meson.build", "/console/x.js",
                     "/console/", "/console/..%2Fmain.c", "/console/console.js/x",
                     "/consolex"):
            with self.subTest(path=path):
                r = self.q.get(path)
                self.assertEqual(r.status, 404, r)
                self.assertEqual(r.headers.get("Content-Type"), "application/problem+json")
                self.assertNotIn("Content-Security-Policy", r.headers)
        r = self.q.post("/console", {})
        self.assertEqual(r.status, 405, r)

    def test_read_tokens_keep_data_closed_but_the_page_open(self):
        svc = self.start_service("query", {"READ_TOKENS": "tok-read"})
        c = Client(svc.port)
        try:
            for path in TYPES:
                self.assertEqual(c.get(path).status, 200, path)
            self.assertEqual(c.get("/v1/projections").status, 401)
            self.assertEqual(c.get("/v1/events/live?after_position=x").status, 401)
        finally:
            c.close()
