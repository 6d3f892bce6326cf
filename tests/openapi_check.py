#!/usr/bin/python3
"""The API checked against docs/openapi.yaml, on two live gateways (tests/openapi_conformance_test.sh
starts them and passes their addresses and tokens in the environment).

Every documented operation is exercised: a success and its main error answers. Every answer's
status must be one the document gives for that operation, its Content-Type one of the
documented media types for that status, and a JSON body must validate against the documented
schema (python3-jsonschema, draft 7, after translating OpenAPI 3.0's dialect: `nullable`,
`example`, `x-*`; and every object schema that lists `properties` without saying otherwise is
closed, so that a field the server adds without documenting it fails too). Events of the SSE
stream are validated against the schemas `x-parley-events` names. The requests sent are checked
against the documented request bodies as well.

It fails if a documented operation was never answered with a success or never with an error,
and if the server answers an endpoint the document lacks: every documented path, and every
route literal of the gateway's API sources, is probed with every method, and whatever does
not answer "no such endpoint" (404) or the console's 405 must be documented.

Usage: openapi_check.py OPENAPI_YAML GATEWAY_SOURCES_DIR
Environment: US_API, RU_API (host:port), US_OP, RU_OP (operator tokens), SACEUR, CGS, WATCH
(principal tokens; WATCH has the role watch on us-eucom).
Prints one line per check; exits 1 if any failed.
"""
import http.client
import json
import os
import re
import signal
import sys
import time
import urllib.parse

import jsonschema
import yaml

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
failures = []


def fail(what):
    failures.append(what)
    print("FAILED: " + what)


# ---- the document ----

class UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a mapping with a key twice (PyYAML keeps the last)."""


def _unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} twice", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


SCHEMAS = {}  # the document's components/schemas, raw: allOf members are merged from them
# OpenAPI 3.0's Schema Object keywords: any other key (but x-*) is a mistake of the document,
# such as `{description: a, or b}` in YAML's flow style, which makes a key "or b".
KEYWORDS = {
    "type", "properties", "required", "items", "enum", "format", "description", "nullable",
    "example", "allOf", "oneOf", "anyOf", "not", "additionalProperties", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern",
    "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties", "default", "$ref",
    "title", "readOnly", "writeOnly", "deprecated", "discriminator", "xml", "externalDocs"}
reported_keywords = set()


def merged_all_of(schema):
    """An allOf of object schemas (a $ref to one and more properties: MessageDetail) as ONE
    object schema with every member's properties and required, so that closing it (below)
    closes the whole; None if a member is not an object schema."""
    members = []
    for member in schema["allOf"]:
        while "$ref" in member:
            member = SCHEMAS[member["$ref"].split("/")[-1]]
        if member.get("type") != "object" and "properties" not in member:
            return None
        members.append(member)
    out = {"type": "object", "properties": {}, "required": []}
    for member in members:
        out["properties"].update(member.get("properties", {}))
        out["required"] += [r for r in member.get("required", []) if r not in out["required"]]
    for key, value in schema.items():
        if key != "allOf":
            out[key] = value
    return out


def to_json_schema(schema):
    """OpenAPI 3.0 Schema Object -> JSON Schema (draft 7): nullable, no examples, closed objects."""
    if isinstance(schema, list):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    for key in schema:
        if key not in KEYWORDS and not str(key).startswith("x-") and key not in reported_keywords:
            reported_keywords.add(key)
            fail(f"docs/openapi.yaml: {key!r} is no schema keyword (in {str(schema)[:120]})")
    if "allOf" in schema:
        merged = merged_all_of(schema)
        if merged is not None:
            schema = merged
    out = {}
    for key, value in schema.items():
        if key in ("example", "examples", "nullable", "discriminator", "xml", "externalDocs",
                   "deprecated", "readOnly", "writeOnly") or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(s) for name, s in value.items()}
        else:
            out[key] = to_json_schema(value)
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = out["enum"] + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


class Document:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.load(f, Loader=UniqueKeyLoader)
        SCHEMAS.update(self.doc["components"]["schemas"])
        self.root = {"components": {"schemas": {
            name: to_json_schema(s) for name, s in self.doc["components"]["schemas"].items()}}}
        self.resolver = jsonschema.RefResolver.from_schema(self.root)
        self.operations = {}
        for template, ops in self.doc["paths"].items():
            for method, op in ops.items():
                if method.upper() in METHODS:
                    self.operations[(method.upper(), template)] = op

    def resolve(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            target = self.doc
            for part in obj["$ref"].lstrip("#/").split("/"):
                target = target[part]
            obj = target
        return obj

    def validate(self, schema, value, what):
        try:
            jsonschema.Draft7Validator(to_json_schema(schema), resolver=self.resolver).validate(value)
        except jsonschema.ValidationError as e:
            where = "/".join(str(p) for p in e.absolute_path)
            fail(f"{what}: {e.message} (at /{where})")
            return False
        return True

    def match(self, method, path):
        """The documented template of `path` for `method`, if any."""
        for (m, template) in self.operations:
            if m == method and re.fullmatch(re.sub(r"\{[^/}]+\}", "[^/]+", template), path):
                return template
        return None


# ---- HTTP ----

def request(address, method, path, headers=None, body=None, read_all=True):
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    conn.request(method, path, body=data, headers=headers or {})
    response = conn.getresponse()
    if not read_all:
        return conn, response
    payload = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type", ""), payload, response


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.seen = {key: set() for key in doc.operations}

    def call(self, method, template, address, params=None, query=None, token=None, headers=None,
             body=None, expect=None, what="", invalid=False):
        """One documented request; its answer checked against the document. The JSON body.
        `invalid`: the request is meant to break the documented request schema (an error case),
        so it is not checked against it."""
        op = self.doc.operations.get((method, template))
        if op is None:
            fail(f"{method} {template} is not in the document")
            return None
        path = template
        for name, value in (params or {}).items():
            path = path.replace("{" + name + "}", urllib.parse.quote(str(value), safe=""))
        if query:
            path += "?" + urllib.parse.urlencode(query)
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = "Bearer " + token
        if body is not None:
            all_headers["Content-Type"] = "application/json"
            request_schema = (op.get("requestBody", {}).get("content", {})
                              .get("application/json", {}).get("schema"))
            if request_schema is not None and isinstance(body, (dict, list)) and not invalid:
                self.doc.validate(request_schema, body, f"{method} {template} {what}: our request")
        status, ctype, payload, _ = request(address, method, path, all_headers, body)
        label = f"{method} {template} {what} -> {status}"
        if expect is not None and status != expect:
            fail(f"{label}: expected {expect}: {payload[:300]!r}")
        self.check_answer(method, template, status, ctype, payload, label)
        try:
            return json.loads(payload) if payload else None
        except ValueError:
            return None

    def check_answer(self, method, template, status, ctype, payload, label):
        op = self.doc.operations[(method, template)]
        self.seen[(method, template)].add(status)
        responses = op["responses"]
        answer = responses.get(str(status), responses.get("default"))
        if answer is None:
            fail(f"{label}: status {status} is not documented ({', '.join(responses)})")
            return
        answer = self.doc.resolve(answer)
        content = answer.get("content")
        if not content:
            return
        media = ctype.split(";")[0].strip()
        if media not in content:
            fail(f"{label}: Content-Type {ctype!r}, documented {list(content)}")
            return
        if method == "HEAD" or media != "application/json":
            return
        try:
            value = json.loads(payload)
        except ValueError as e:
            fail(f"{label}: not JSON ({e}): {payload[:200]!r}")
            return
        schema = content[media].get("schema")
        if schema is not None:
            self.doc.validate(schema, value, label)
        print(f"ok: {label}")

    def coverage(self):
        for (method, template), statuses in sorted(self.seen.items()):
            op = self.doc.operations[(method, template)]
            documented_errors = [c for c in op["responses"] if c.startswith("4")]
            if not any(200 <= s < 400 for s in statuses):
                fail(f"{method} {template}: never answered with a success (saw {sorted(statuses)})")
            elif documented_errors and not any(400 <= s < 500 for s in statuses):
                fail(f"{method} {template}: no error answer exercised (documented {documented_errors})")
            else:
                print(f"ok: {method} {template} exercised: {sorted(statuses)}")


# ---- the server's endpoints that the document lacks ----

def route_literals(sources):
    """Paths the gateway's API sources compare requests against."""
    found = set()
    for name in ("api.cc", "directory_api.cc", "meetings_api.cc", "broadcasts_api.cc",
                 "console.cc"):
        with open(os.path.join(sources, name), encoding="utf-8") as f:
            text = f.read()
        for literal in re.findall(r'"(/[A-Za-z0-9/_.{}-]*)"', text):
            if literal in ("/", "/healthz", "/readyz", "/metrics") or literal.startswith(
                    ("/api/v1/", "/console")):
                found.add(literal.rstrip("/") or "/")
    return found


def undocumented_endpoints(doc, address, operator, fill):
    """Probes every candidate path with every method: what answers and is not documented."""
    candidates = set(route_literals(sys.argv[2]))
    for (_, template) in doc.operations:
        candidates.add(template)
    for path in sorted(candidates):
        concrete = fill(path)
        if concrete is None:
            continue
        for method in METHODS:
            if doc.match(method, concrete):
                continue
            headers = {"Authorization": "Bearer " + operator, "X-Parley-As": "saceur"}
            body = "{}" if method in ("POST", "PUT", "PATCH") else None
            if body:
                headers["Content-Type"] = "application/json"
            status, _, payload, _ = request(address, method, concrete, headers, body)
            text = payload.decode("utf-8", "replace")
            if status == 404 and ("no such endpoint" in text or "no such console file" in text):
                continue
            if status == 405:
                continue  # the console's answer to a method it does not serve
            if method == "HEAD" and status == 404:
                continue  # a HEAD answer has no body to say which 404 it is
            fail(f"the server answers {method} {concrete} ({status} {text[:120]!r}) "
                 f"but docs/openapi.yaml does not document {method} {path}")


# ---- the scenario ----

def main():
    doc = Document(sys.argv[1])
    c = Checker(doc)
    env = os.environ
    us, ru = env["US_API"], env["RU_API"]
    us_op, ru_op = env["US_OP"], env["RU_OP"]
    saceur, cgs, watch = env["SACEUR"], env["CGS"], env["WATCH"]
    as_saceur = {"X-Parley-As": "saceur"}

    # Public probes.
    c.call("GET", "/healthz", us, expect=200)
    c.call("GET", "/readyz", us, expect=200)
    c.call("GET", "/readyz", us, token=us_op, expect=200, what="(gateway-wide: peers)")
    c.call("GET", "/api/v1/version", us, token=saceur, expect=200)
    c.call("GET", "/api/v1/version", us, expect=401, what="(no token)")
    c.call("GET", "/api/v1/catalog", us, token=saceur, expect=200)
    c.call("GET", "/api/v1/catalog", us, token="wrong-token", expect=401)

    # Messages.
    c.call("GET", "/api/v1/lines", us, token=saceur, expect=200)
    c.call("GET", "/api/v1/lines", us, token=us_op, expect=400, what="(operator without X-Parley-As)")
    sent = c.call("POST", "/api/v1/messages", us, token=saceur, expect=201,
                  body={"line": "saceur-cgs", "precedence": "FLASH", "text": "hold fire"})
    mid = (sent or {}).get("id", "")
    c.call("POST", "/api/v1/messages", us, token=saceur, expect=400, what="(unknown precedence)",
           body={"line": "saceur-cgs", "precedence": "URGENT", "text": "x"}, invalid=True)
    c.call("POST", "/api/v1/messages", us, token=saceur, expect=404, what="(unknown line)",
           body={"line": "no-such-line", "text": "x"})
    c.call("POST", "/api/v1/messages", us, expect=401, body={"line": "saceur-cgs", "text": "x"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _, payload, _ = request(us, "GET", "/api/v1/messages/" + mid,
                                        {"Authorization": "Bearer " + saceur})
        if status == 200 and json.loads(payload).get("state") == "delivered":
            break
        time.sleep(0.1)
    c.call("GET", "/api/v1/messages", us, token=saceur, query={"box": "outbox"}, expect=200)
    page = c.call("GET", "/api/v1/messages", ru, token=cgs, query={"box": "inbox", "limit": 1},
                  expect=200)
    c.call("GET", "/api/v1/messages", us, token=saceur, query={"box": "sideways"}, expect=400)
    c.call("GET", "/api/v1/messages/{id}", us, params={"id": mid}, token=saceur, expect=200)
    c.call("GET", "/api/v1/messages/{id}", ru, params={"id": mid[:24]}, token=cgs, expect=200,
           what="(a unique prefix)")
    c.call("GET", "/api/v1/messages/{id}", us, params={"id": "0" * 36}, token=saceur, expect=404)

    # Broadcasts (issue 14): saceur has two lines to ru-genstaff.
    sent = c.call("POST", "/api/v1/broadcasts", us, token=saceur, expect=201,
                  body={"lines": ["saceur-cgs", "saceur-cgs-b"], "precedence": "IMMEDIATE",
                        "text": "to both lines"})
    bid = (sent or {}).get("id", "")
    c.call("POST", "/api/v1/broadcasts", us, token=saceur, expect=400, what="(one line)",
           body={"lines": ["saceur-cgs"], "text": "x"}, invalid=True)
    c.call("POST", "/api/v1/broadcasts", us, token=saceur, expect=404, what="(an unknown line)",
           body={"lines": ["saceur-cgs", "no-such-line"], "text": "x"})
    c.call("POST", "/api/v1/broadcasts", us, expect=401,
           body={"lines": ["saceur-cgs", "saceur-cgs-b"], "text": "x"})
    c.call("GET", "/api/v1/broadcasts/{id}", us, params={"id": bid}, token=saceur, expect=200)
    c.call("GET", "/api/v1/broadcasts/{id}", us, params={"id": "0190a0b0-0000-7000-8000-000000000001"},
           token=saceur, expect=404)
    c.call("GET", "/api/v1/broadcasts/{id}", us, params={"id": "not-a-uuid"}, token=saceur,
           expect=400)
    c.call("POST", "/api/v1/messages/{id}/ack", ru, params={"id": mid}, token=cgs, expect=200)
    c.call("POST", "/api/v1/messages/{id}/ack", ru, params={"id": mid}, token=cgs, expect=409,
           what="(again)")
    c.call("POST", "/api/v1/messages/{id}/ack", us, params={"id": "0" * 36}, token=saceur,
           expect=404)
    c.call("GET", "/api/v1/messages/{id}/evidence", us, params={"id": mid}, token=saceur,
           expect=200)
    c.call("GET", "/api/v1/messages/{id}/evidence", ru, params={"id": mid}, token=cgs, expect=200,
           what="(the receiver's side)")
    c.call("GET", "/api/v1/messages/{id}/evidence", us, params={"id": "0" * 36}, token=saceur,
           expect=404)
    if page and page.get("messages") is not None:
        print(f"ok: inbox page of {len(page['messages'])}")

    # Meetings: propose, accept, minutes, sign (both), an action item done.
    proposed = c.call("POST", "/api/v1/meetings", us, token=saceur, expect=201,
                      body={"line": "saceur-cgs", "title": "Staff talks",
                            "slots": ["2030-03-03T09:00:00Z"]})
    meeting = (proposed or {}).get("meeting", "")
    c.call("POST", "/api/v1/meetings", us, token=saceur, expect=400, what="(no slots)",
           body={"line": "saceur-cgs", "title": "x", "slots": []}, invalid=True)
    c.call("GET", "/api/v1/meetings", us, token=saceur, expect=200)
    c.call("GET", "/api/v1/meetings", us, expect=401)
    c.call("GET", "/api/v1/meetings/{id}", us, params={"id": meeting}, token=saceur, expect=200)
    c.call("GET", "/api/v1/meetings/{id}", us, params={"id": "0" * 36}, token=saceur, expect=404)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _, payload, _ = request(ru, "GET", "/api/v1/meetings/" + meeting,
                                        {"Authorization": "Bearer " + cgs})
        if status == 200:
            break
        time.sleep(0.1)
    c.call("POST", "/api/v1/meetings/{id}/{step}", ru, params={"id": meeting, "step": "accept"},
           token=cgs, expect=409, what="(a slot not offered)", body={"slot": "2031-01-01T00:00:00Z"})
    c.call("POST", "/api/v1/meetings/{id}/{step}", ru, params={"id": meeting, "step": "accept"},
           token=cgs, expect=201, body={"slot": "2030-03-03T09:00:00Z"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _, payload, _ = request(us, "GET", "/api/v1/meetings/" + meeting,
                                        {"Authorization": "Bearer " + saceur})
        if status == 200 and json.loads(payload).get("state") == "scheduled":
            break
        time.sleep(0.1)
    minutes = {"items": [{"agenda_item": "exercises", "actions": [
        {"id": "a1", "text": "send the calendar", "owner": "us-eucom/saceur",
         "due": "2030-04-01T00:00:00Z"}]}]}
    c.call("POST", "/api/v1/meetings/{id}/{step}", us, params={"id": meeting, "step": "minutes"},
           token=saceur, expect=201, body=minutes)
    c.call("POST", "/api/v1/meetings/{id}/actions/{item}/done", us,
           params={"id": meeting, "item": "a1"}, token=saceur, expect=201, body={})
    c.call("POST", "/api/v1/meetings/{id}/actions/{item}/done", us,
           params={"id": meeting, "item": "a1"}, token=saceur, expect=409, what="(again)", body={})

    # Directory and monitoring.
    c.call("GET", "/api/v1/roster", us, token=saceur, query={"role": "duty-officer"}, expect=200)
    c.call("GET", "/api/v1/roster", us, token=saceur, query={"at": "yesterday"}, expect=400)
    c.call("POST", "/api/v1/admin/reload", us, token=us_op, expect=200)
    c.call("POST", "/api/v1/admin/reload", us, token=saceur, expect=403)
    c.call("GET", "/api/v1/peers", us, token=us_op, expect=200)
    c.call("GET", "/api/v1/peers", us, token=watch, expect=200, what="(the watch role)")
    c.call("GET", "/api/v1/peers", us, token=saceur, expect=403)
    c.call("GET", "/api/v1/peers/{party}/checkpoint", us, params={"party": "ru-genstaff"},
           token=us_op, expect=200)
    c.call("GET", "/api/v1/peers/{party}/checkpoint", us, params={"party": "nobody"},
           token=us_op, expect=404)
    c.call("GET", "/api/v1/status", us, token=us_op, expect=200)
    c.call("GET", "/api/v1/status", us, token=saceur, expect=200, what="(a principal's lines)")
    c.call("GET", "/api/v1/status", us, expect=401)
    c.call("GET", "/metrics", us, token=us_op, expect=200)
    c.call("GET", "/metrics", us, token=saceur, expect=403)

    # The console, its assets and its session.
    c.call("GET", "/", us, expect=302)
    c.call("HEAD", "/", us, expect=302)
    c.call("GET", "/console", us, expect=200)
    c.call("HEAD", "/console", us, expect=200)
    c.call("HEAD", "/console/", us, expect=200)
    _, _, page_html, _ = request(us, "GET", "/console/")
    c.call("GET", "/console/", us, expect=200)
    assets = re.findall(r'/console/assets/([A-Za-z0-9._-]+)', page_html.decode("utf-8", "replace"))
    if not assets:
        fail("the console's index.html names no asset under /console/assets/")
    for asset in sorted(set(assets)):
        c.call("GET", "/console/assets/{file}", us, params={"file": asset}, expect=200)
    c.call("GET", "/console/assets/{file}", us, params={"file": "no-such.js"}, expect=404)
    origin = {"Host": us, "Origin": "http://" + us, "Sec-Fetch-Site": "same-origin"}
    signed = c.call("POST", "/api/v1/session", us, headers=origin, body={"token": saceur},
                    expect=201)
    c.call("POST", "/api/v1/session", us, headers=origin, body={"token": us_op}, expect=403,
           what="(the operator token)")
    c.call("POST", "/api/v1/session", us, headers=origin, body={"token": "nobody-0123456789"},
           expect=401)
    # A session of its own for the rest (its cookie and its CSRF token belong together).
    _, _, raw, response = request(us, "POST", "/api/v1/session",
                                  dict(origin, **{"Content-Type": "application/json"}),
                                  json.dumps({"token": saceur}))
    cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
    csrf = json.loads(raw or b"{}").get("csrf", "")
    if not cookie or not csrf or not signed:
        fail(f"sign-in gave no session cookie or CSRF token: {raw[:200]!r}")
    same = {"Host": us, "Sec-Fetch-Site": "same-origin", "Cookie": cookie}
    c.call("GET", "/api/v1/session", us, headers=same, expect=200)
    c.call("GET", "/api/v1/session", us, headers={"Host": us}, expect=401, what="(no cookie)")
    c.call("DELETE", "/api/v1/session", us, headers=dict(same, Origin="http://" + us), expect=403,
           what="(no CSRF token)")
    c.call("DELETE", "/api/v1/session", us,
           headers=dict(same, Origin="http://" + us, **{"X-Parley-CSRF": csrf}), expect=200)

    check_disclose(c, us, env.get("NATO_API", ""), env.get("NATO_OP", ""), saceur, mid)
    # The event stream: the first events, each validated against x-parley-events.
    check_events(c, doc, ru, cgs)
    check_cancel(c, us, saceur, int(env.get("RU_PID", "0")))

    c.coverage()

    def fill(template):
        values = {"id": mid, "party": "ru-genstaff", "step": "accept", "item": "a1"}
        path = template
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        return None if "{" in path else path

    undocumented_endpoints(doc, us, us_op, fill)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


def check_disclose(c, us, nato, nato_op, saceur, mid):
    """Disclosure to nato-shape, the line's observer (a third gateway): once nato-shape has
    cosigned a checkpoint of us-eucom's log that includes `mid`, it is disclosed (200) and
    nato-shape shows it; the errors: a party that does not observe the line (409), a malformed
    body (400), an unknown message (404), a principal asking for the gateway-wide list (403)."""
    if not nato or not nato_op:
        fail("NATO_API or NATO_OP is not set: disclosure cannot be exercised")
        return
    headers = {"Authorization": "Bearer " + saceur, "Content-Type": "application/json"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # bounded: nato-shape cosigns as the heads move
        status, _, _, _ = request(us, "POST", f"/api/v1/messages/{mid}/disclose", headers,
                                  {"to": "nato-shape"})
        if status == 200:
            break
        time.sleep(0.2)
    c.call("POST", "/api/v1/messages/{id}/disclose", us, params={"id": mid}, token=saceur,
           body={"to": "nato-shape"}, expect=200, what="(again: new false)")
    c.call("POST", "/api/v1/messages/{id}/disclose", us, params={"id": mid}, token=saceur,
           body={"to": "ru-genstaff"}, expect=409, what="(not an observer of the line)")
    c.call("POST", "/api/v1/messages/{id}/disclose", us, params={"id": mid}, token=saceur,
           body={"to": 5}, expect=400, invalid=True)
    c.call("POST", "/api/v1/messages/{id}/disclose", us, params={"id": "0" * 36}, token=saceur,
           body={"to": "nato-shape"}, expect=404)
    shown = c.call("GET", "/api/v1/disclosed", nato, token=nato_op, expect=200)
    if not shown or [d.get("id") for d in shown.get("disclosed", [])] != [mid]:
        fail(f"GET /api/v1/disclosed on nato-shape: expected the one disclosed message {mid}")
    c.call("GET", "/api/v1/disclosed", us, token=saceur, expect=403)


def check_cancel(c, us, saceur, ru_pid):
    """Cancellation needs a message no transaction has carried: with ru stopped (SIGSTOP) the
    first message is carried by the transaction in flight (409) and the second waits behind it
    (200, then 409 again). ru is resumed whatever happens."""
    if ru_pid <= 0:
        fail("RU_PID is not set: cancellation cannot be exercised")
        return
    os.kill(ru_pid, signal.SIGSTOP)
    try:
        body = {"line": "saceur-cgs", "text": "carried while ru is stopped"}
        first = c.call("POST", "/api/v1/messages", us, token=saceur, expect=201, body=body)
        time.sleep(0.5)  # the first is in the transaction in flight; the second waits
        second = c.call("POST", "/api/v1/messages", us, token=saceur, expect=201,
                        body={"line": "saceur-cgs", "text": "withdrawn before it leaves"})
        c.call("POST", "/api/v1/messages/{id}/cancel", us, params={"id": (first or {}).get("id")},
               token=saceur, expect=409, what="(carried)")
        c.call("POST", "/api/v1/messages/{id}/cancel", us,
               params={"id": (second or {}).get("id")}, token=saceur, expect=200)
        c.call("POST", "/api/v1/messages/{id}/cancel", us,
               params={"id": (second or {}).get("id")}, token=saceur, expect=409, what="(again)")
        c.call("POST", "/api/v1/messages/{id}/cancel", us, params={"id": "0" * 36},
               token=saceur, expect=404)
    finally:
        os.kill(ru_pid, signal.SIGCONT)


def check_events(c, doc, address, token):
    op = doc.operations[("GET", "/api/v1/events")]
    schemas = op.get("x-parley-events", {})
    conn, response = request(address, "GET", "/api/v1/events",
                             {"Authorization": "Bearer " + token, "Last-Event-ID": "0"},
                             read_all=False)
    label = "GET /api/v1/events (Last-Event-ID 0)"
    c.seen[("GET", "/api/v1/events")].add(response.status)
    if response.status != 200:
        fail(f"{label}: {response.status}")
        return
    ctype = response.getheader("Content-Type", "")
    if ctype.split(";")[0] not in doc.resolve(op["responses"]["200"])["content"]:
        fail(f"{label}: Content-Type {ctype!r}")
    # The replay of everything cgs may see, then the stream event: read up to it.
    text, events = "", []
    while "event: stream\n" not in text and len(text) < 1_000_000:
        chunk = response.read1(65536) if hasattr(response, "read1") else response.read(1)
        if not chunk:
            break
        text += chunk.decode("utf-8", "replace")
    conn.close()
    for block in text.split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            if line.startswith(":") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        if "event" not in fields:
            continue
        events.append(fields)
        schema = schemas.get(fields["event"])
        if schema is None:
            fail(f"{label}: event {fields['event']!r} is not in x-parley-events")
            continue
        if not re.fullmatch(r"[0-9]+", fields.get("id", "")):
            fail(f"{label}: event {fields['event']} without a numeric id: {fields}")
        doc.validate(schema, json.loads(fields.get("data", "null")), f"{label}: {fields['event']}")
    names = [e["event"] for e in events]
    print(f"ok: {label}: {names}")
    for must in ("message", "stream"):
        if must not in names:
            fail(f"{label}: no {must} event in {names}")
    c.call("GET", "/api/v1/events", address, token=token, headers={"Last-Event-ID": "x1"},
           expect=400)
    c.call("GET", "/api/v1/events", address, expect=401)


if __name__ == "__main__":
    sys.exit(main())
