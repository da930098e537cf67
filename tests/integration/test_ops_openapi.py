"""Operations: docs/openapi.yaml matches the running pair. Every documented operation is called
for a success and an error; each answer's status must be documented for that operation and its
body must validate against the documented schema (a JSON-Schema subset validator below);
required headers must be present. The route tables in C and the document list the same paths."""

import os
import re
import unittest

import harness
from harness import new_id
from live_support import status_of
from orderly_env import REPO

SPEC_PATH = os.path.join(REPO, "docs", "openapi.yaml")


def load_spec():
    import yaml  # Debian's python3-yaml
    with open(SPEC_PATH) as f:
        return yaml.safe_load(f)


class SchemaError(AssertionError):
    pass


class Validator:
    """type (one or a list, "integer" excludes bools and floats), enum, required, properties,
    additionalProperties: false, items, minItems/maxItems, minimum/maximum,
    minLength/maxLength, pattern, allOf, oneOf, $ref into the document."""

    TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
             "null": type(None)}

    def __init__(self, spec):
        self.spec = spec

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise SchemaError("external $ref %s" % ref)
            node = self.spec
            for part in ref[2:].split("/"):
                node = node[part]
        return node

    def type_ok(self, value, t):
        if t == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if t == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        return isinstance(value, self.TYPES[t])

    def validate(self, value, schema, where="$"):
        schema = self.resolve(schema)
        types = schema.get("type")
        if types is not None:
            types = types if isinstance(types, list) else [types]
            if not any(self.type_ok(value, t) for t in types):
                raise SchemaError("%s: %r is not %s" % (where, value, types))
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError("%s: %r not in %r" % (where, value, schema["enum"]))
        for sub in schema.get("allOf", []):
            self.validate(value, sub, where)
        if "oneOf" in schema:
            ok = 0
            for sub in schema["oneOf"]:
                try:
                    self.validate(value, sub, where)
                    ok += 1
                except SchemaError:
                    pass
            if ok != 1:
                raise SchemaError("%s: %r matches %d of oneOf" % (where, value, ok))
        if isinstance(value, dict):
            self.validate_object(value, schema, where)
        elif isinstance(value, list):
            self.validate_array(value, schema, where)
        elif isinstance(value, str):
            if len(value) < schema.get("minLength", 0) or \
                    len(value) > schema.get("maxLength", len(value)):
                raise SchemaError("%s: length of %r" % (where, value))
            if "pattern" in schema and not re.search(schema["pattern"], value):
                raise SchemaError("%s: %r does not match %s" % (where, value, schema["pattern"]))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                raise SchemaError("%s: %r < %r" % (where, value, schema["minimum"]))
            if "maximum" in schema and value > schema["maximum"]:
                raise SchemaError("%s: %r > %r" % (where, value, schema["maximum"]))

    def validate_object(self, value, schema, where):
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError("%s: missing %s" % (where, key))
        props = schema.get("properties", {})
        for key, sub in props.items():
            if key in value:
                self.validate(value[key], sub, "%s.%s" % (where, key))
        if schema.get("additionalProperties") is False:
            extra = set(value) - set(props)
            if extra:
                raise SchemaError("%s: unexpected %s" % (where, sorted(extra)))

    def validate_array(self, value, schema, where):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems",
                                                                             len(value)):
            raise SchemaError("%s: %d items" % (where, len(value)))
        if "items" in schema:
            for i, item in enumerate(value):
                self.validate(item, schema["items"], "%s[%d]" % (where, i))


class ValidatorTest(unittest.TestCase):
    """The validator must fail where it should, or conformance below proves nothing."""

    def test_rejects(self):
        spec = {"components": {"schemas": {"N": {"type": ["integer", "null"], "minimum": 0}}}}
        v = Validator(spec)
        schema = {"type": "object", "required": ["a"], "properties": {
            "a": {"$ref": "#/components/schemas/N"}, "b": {"enum": ["x"]},
            "c": {"type": "array", "items": {"type": "string", "pattern": "^z"}}}}
        v.validate({"a": None, "b": "x", "c": ["zz"]}, schema)
        v.validate({"a": 3}, schema)
        for bad in ({}, {"a": "1"}, {"a": True}, {"a": 1.5}, {"a": -1}, {"a": 1, "b": "y"},
                    {"a": 1, "c": ["y"]}, {"a": 1, "c": "z"}):
            with self.subTest(bad=bad):
                with self.assertRaises(SchemaError):
                    v.validate(bad, schema)


def c_routes(path):
    with open(os.path.join(REPO, path)) as f:
        return set(re.findall(r'\{\s*"(GET|POST|PUT|DELETE|PATCH)",\s*"(/[^"]*)"', f.read()))


class OpenApiConformanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec = load_spec()
        cls.v = Validator(cls.spec)
        cls.cmd = harness.command()
        cls.qry = harness.query()
        cls.seen = {}  # (method, template) -> set of statuses

    @classmethod
    def tearDownClass(cls):
        cls.cmd.close()
        cls.qry.close()

    def check(self, client, method, template, path, status, body=None, headers=None, raw=None):
        """Sends the request, asserts the status, validates the answer against the document."""
        r = client.request(method, path, body=body, headers=headers, raw=raw)
        self.assertEqual(r.status, status, "%s %s: %r" % (method, path, r))
        op = self.spec["paths"].get(template, {}).get(method.lower())
        if op is None:  # no such operation: the generic 405 answer
            self.assertEqual(status, 405)
            resp = self.v.resolve({"$ref": "#/components/responses/MethodNotAllowed"})
        else:
            self.assertIn(str(status), op["responses"],
                          "%s %s answered %d, which is not documented" % (method, template,
                                                                          status))
            resp = self.v.resolve(op["responses"][str(status)])
        ctype = r.headers.get("Content-Type", "").split(";")[0].strip()
        self.assertIn(ctype, resp["content"], "%s %s: Content-Type %s" % (method, path, ctype))
        schema = resp["content"][ctype]["schema"]
        data = r.body if ctype.endswith("json") else r.raw.decode()
        try:
            self.v.validate(data, schema)
        except SchemaError as e:
            self.fail("%s %s -> %d: %s\n%r" % (method, path, status, e, r))
        for name, h in resp.get("headers", {}).items():
            if self.v.resolve(h).get("required"):
                self.assertIn(name, r.headers, "%s %s: no %s header" % (method, path, name))
        self.assertIn("X-Correlation-ID", r.headers)
        if client is self.qry and status != 405:
            self.assertIn("X-Projection-Position", r.headers)
        self.seen.setdefault((method, template), set()).add(status)
        return r

    def test_route_tables_match_document(self):
        documented = {(m.upper(), p) for p, ops in self.spec["paths"].items()
                      for m in ops if m in ("get", "post")}
        served = c_routes("command-service/routes.c") | c_routes("query-service/routes.c")
        self.assertEqual(documented, served)

    def test_every_operation(self):
        c, q, chk = self.cmd, self.qry, self.check
        cust = new_id("cust-")
        a = chk(c, "POST", "/v1/accounts", "/v1/accounts", 201,
                {"owner": new_id("o-"), "currency": "EUR"}).body["id"]
        self.assertTrue(a)
        chk(c, "POST", "/v1/accounts", "/v1/accounts", 409,
            {"account_id": a, "owner": "x", "currency": "EUR"})
        chk(c, "POST", "/v1/accounts", "/v1/accounts", 415, raw="{}",
            headers={"Content-Type": "text/plain"})
        chk(c, "POST", "/v1/accounts", "/v1/accounts", 413, raw="[" + " " * 70000 + "]",
            headers={"Content-Type": "application/json"})
        dep = "/v1/accounts/{id}/deposit"
        chk(c, "POST", dep, "/v1/accounts/%s/deposit" % a, 200, {"amount_cents": 10000})
        chk(c, "POST", dep, "/v1/accounts/%s/deposit" % a, 412, {"amount_cents": 1},
            headers={"If-Match": '"1"'})
        chk(c, "POST", dep, "/v1/accounts/%s/deposit" % new_id(), 404, {"amount_cents": 1})
        order = {"customer_id": cust, "currency": "EUR",
                 "items": [{"sku": "s", "quantity": 2, "unit_price_cents": 100}]}
        o = chk(c, "POST", "/v1/orders", "/v1/orders", 201, order).body["id"]
        chk(c, "POST", "/v1/orders", "/v1/orders", 400, raw="{",
            headers={"Content-Type": "application/json"})
        chk(c, "POST", "/v1/orders", "/v1/orders", 422, {"customer_id": cust})
        pay = "/v1/orders/{id}/pay"
        chk(c, "POST", pay, "/v1/orders/%s/pay" % o, 422, {"account_id": a})
        chk(c, "POST", pay, "/v1/orders/%s/pay" % new_id(), 404,
            {"account_id": a, "amount_cents": 200})
        chk(c, "POST", pay, "/v1/orders/%s/pay" % o, 200, {"account_id": a, "amount_cents": 200})
        ship = "/v1/orders/{id}/ship"
        ship_body = {"carrier": "DHL", "tracking_number": "T1"}
        chk(c, "POST", ship, "/v1/orders/%s/ship" % o, 200, ship_body)
        chk(c, "POST", ship, "/v1/orders/%s/ship" % o, 409, ship_body)
        cancel = "/v1/orders/{id}/cancel"
        chk(c, "POST", cancel, "/v1/orders/%s/cancel" % o, 409, {"reason": "late"})
        o2 = chk(c, "POST", "/v1/orders", "/v1/orders", 201, order).body["id"]
        chk(c, "POST", cancel, "/v1/orders/%s/cancel" % o2, 200, {"reason": "changed mind"})
        b = chk(c, "POST", "/v1/accounts", "/v1/accounts", 201,
                {"owner": new_id("o-"), "currency": "EUR"}).body["id"]
        tr = chk(c, "POST", "/v1/transfers", "/v1/transfers", 201,
                 {"from_account_id": a, "to_account_id": b, "amount_cents": 500})
        self.assertTrue(tr.headers.get("Location"))
        chk(c, "POST", "/v1/transfers", "/v1/transfers", 404,
            {"from_account_id": a, "to_account_id": new_id(), "amount_cents": 1})
        wd = "/v1/accounts/{id}/withdraw"
        chk(c, "POST", wd, "/v1/accounts/%s/withdraw" % b, 200, {"amount_cents": 500})
        chk(c, "POST", wd, "/v1/accounts/%s/withdraw" % b, 409, {"amount_cents": 1})
        close = "/v1/accounts/{id}/close"
        chk(c, "POST", close, "/v1/accounts/%s/close" % a, 409, {})
        chk(c, "POST", close, "/v1/accounts/%s/close" % b, 200, {})
        forget = "/v1/accounts/{id}/forget"
        last = chk(c, "POST", forget, "/v1/accounts/%s/forget" % b, 200, {}).body["position"]
        chk(c, "POST", forget, "/v1/accounts/%s/forget" % b, 409, {})

        mp = "?min_position=%d" % last
        chk(q, "GET", "/v1/orders/{id}", "/v1/orders/%s%s" % (o, mp), 200)
        chk(q, "GET", "/v1/orders/{id}", "/v1/orders/%s?version=1" % o, 200)
        chk(q, "GET", "/v1/orders/{id}", "/v1/orders/%s" % new_id(), 404)
        chk(q, "GET", "/v1/orders/{id}", "/v1/orders/%s?as_of=yesterday" % o, 400)
        chk(q, "GET", "/v1/orders/{id}", "/v1/orders/%s?min_position=%d&wait_ms=10"
            % (o, last + 10 ** 9), 503)
        chk(q, "GET", "/v1/orders", "/v1/orders?customer_id=%s&limit=1" % cust, 200)
        chk(q, "GET", "/v1/orders", "/v1/orders?limit=0", 400)
        chk(q, "GET", "/v1/accounts/{id}", "/v1/accounts/%s" % a, 200)
        chk(q, "GET", "/v1/accounts/{id}", "/v1/accounts/%s" % new_id(), 404)
        chk(q, "GET", "/v1/accounts", "/v1/accounts?limit=2", 200)
        chk(q, "GET", "/v1/accounts", "/v1/accounts?limit=abc", 400)
        chk(q, "GET", "/v1/customers/{id}", "/v1/customers/%s" % cust, 200)
        chk(q, "GET", "/v1/customers/{id}", "/v1/customers/%s" % new_id(), 404)
        rev = "/v1/stats/revenue"
        chk(q, "GET", rev, rev + "?from=2020-01-01&to=2099-12-31", 200)
        chk(q, "GET", rev, rev, 400)
        st = "/v1/streams/{stream_id}/events"
        chk(q, "GET", st, "/v1/streams/order-%s/events" % o, 200)
        chk(q, "GET", st, "/v1/streams/order-%s/events" % new_id(), 404)
        sv = "/v1/streams/{stream_id}/verify"
        chk(q, "GET", sv, "/v1/streams/order-%s/verify" % o, 200)
        chk(q, "GET", sv, "/v1/streams/order-%s/verify" % new_id(), 404)
        chk(q, "GET", "/v1/events", "/v1/events?limit=5", 200)
        chk(q, "GET", "/v1/events", "/v1/events?after_position=x", 400)
        live = "/v1/events/live"  # a stream never ends: its 200 is read from the head only
        chk(q, "GET", live, live + "?after_position=x", 400)
        self.seen.setdefault(("GET", live), set()).add(status_of(q.port, live))
        chk(q, "GET", "/v1/projections", "/v1/projections", 200)
        chk(q, "GET", "/console", "/console", 200)
        chk(q, "GET", "/console/{file}", "/console/console.js", 200)
        chk(q, "GET", "/console/{file}", "/console/nothing.js", 404)
        chk(q, "POST", "/v1/projections", "/v1/projections", 405, {})
        for client in (c, q):
            for probe in ("/healthz", "/readyz", "/metrics"):
                chk(client, "GET", probe, probe, 200)
                chk(client, "POST", probe, probe, 405, {})

        # The shipped SQL-defined projections (docs/views.md), once the leader has built them.
        views, row = "/v1/views/{name}", "/v1/views/{name}/{key...}"
        self.assertTrue(harness.wait_until(
            lambda: q.get("/v1/views/daily_money_movement?limit=1").status == 200))
        chk(q, "GET", views, "/v1/views/daily_money_movement?account_id=%s&min_position=%d"
            % (a, last), 200)
        chk(q, "GET", views, "/v1/views/awaiting_shipment?nope=1", 400)
        chk(q, "GET", views, "/v1/views/no_such_view", 404)
        day = q.get("/v1/streams/account-%s/events" % a).body["events"][1]["recorded_at"][:10]
        chk(q, "GET", row, "/v1/views/daily_money_movement/%s/%s" % (a, day), 200)
        chk(q, "GET", row, "/v1/views/daily_money_movement/%s/1999-01-01" % a, 404)

        # Every documented operation got a success and an error.
        for template, ops in self.spec["paths"].items():
            for method in ops:
                statuses = self.seen.get((method.upper(), template), set())
                if template in ("/healthz", "/readyz", "/metrics"):
                    statuses |= self.seen.get(("POST", template), set())
                with self.subTest(op="%s %s" % (method, template)):
                    self.assertTrue(any(s < 300 for s in statuses), statuses)
                    # Neither takes a parameter or id a test could get wrong.
                    if (method, template) not in (("get", "/v1/projections"),
                                                  ("get", "/console")):
                        self.assertTrue(any(s >= 400 for s in statuses) or
                                        self.seen.get(("POST", template)), statuses)
