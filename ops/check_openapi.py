#!/usr/bin/env python3
"""Checks Schemas/admin-api.openapi.yaml three ways:

1. the document is valid OpenAPI 3.1 (openapi-spec-validator);
2. it matches the code: every route the admin listener registers (Sources/NomadServer) is
   documented, and every documented route is registered;
3. it matches the running server: two real nodes (A and B) serve on loopback, every documented
   operation is called with a real request, and each answer's status must be documented for it
   and its body must validate against the documented schema (python-jsonschema, with the JSON
   Schemas next to the document). Error answers are checked too: no token, an unknown channel,
   an unknown route.

4. with --fuzz N: schemathesis (a property-based API fuzzer) sends N generated requests per
   operation to node B (the token given, so the requests reach the handlers) and fails on any
   5xx answer or any answer that breaks the document.

usage: check_openapi.py [--bin PATH] [--fuzz N]     (default .build/debug/nomadsync, no fuzzing)
"""
import base64
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from openapi_spec_validator.readers import read_from_filename
from referencing import Registry, Resource

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPEC = ROOT / "Schemas" / "admin-api.openapi.yaml"
failures = []


def fail(text):
    failures.append(text)
    print("FAIL " + text, file=sys.stderr)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


# 1. The document itself.
def check_document():
    spec_dict, base = read_from_filename(str(SPEC))
    validate_spec(spec_dict, base_uri=base)
    print("openapi: the document is valid OpenAPI 3.1")
    return spec_dict


# 2. The document against the code.
def registered_routes():
    routes = set()
    src = ROOT / "Sources" / "NomadServer"
    for path in src.glob("*.swift"):
        text = path.read_text()
        if path.name.startswith("AdminRoutes"):
            for method, route in re.findall(r'api\.(get|post|put|delete|patch)\("([^"]+)"', text):
                routes.add((method, "/api/v1" + route))
        if path.name == "OpsRoutes.swift":
            for method, route in re.findall(r'router\.(get|post)\("([^"]+)"', text):
                routes.add((method, route))
    return {(m, re.sub(r":([a-z_]+)", r"{\1}", r)) for m, r in routes}


def documented_routes(spec):
    out = set()
    for path, item in spec["paths"].items():
        for method in ("get", "post", "put", "delete", "patch"):
            if method in item:
                out.add((method, path))
    return out


def check_routes(spec):
    code, doc = registered_routes(), documented_routes(spec)
    for m, p in sorted(code - doc):
        fail(f"route {m.upper()} {p} is served but not documented")
    for m, p in sorted(doc - code):
        fail(f"route {m.upper()} {p} is documented but not served")
    print(f"openapi: {len(doc)} documented operations, {len(code)} registered")


# 3. The document against the running server.
def registry():
    resources = []
    for path in (ROOT / "Schemas").glob("*.schema.json"):
        schema = json.loads(path.read_text())
        resource = Resource.from_contents(schema)
        resources += [(schema["$id"], resource), (path.name, resource), ("./" + path.name, resource)]
    return Registry().with_resources(resources)


REGISTRY = registry()


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
        target = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def inline_local_refs(node):
    """Replaces #/components/... refs by their content so python-jsonschema can validate."""
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/"):
            return inline_local_refs(resolve(SPEC_DICT, node))
        return {k: inline_local_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_local_refs(v) for v in node]
    return node


def call(base, method, path, token=None, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method.upper())
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


checked = set()


def expect(base, method, path, template, status, token=None, body=None, headers=None, raw=None):
    """Calls the route and checks the answer against the document; returns the parsed body."""
    code, ctype, payload = call(base, method, path, token, body, headers, raw)
    label = f"{method.upper()} {path}"
    if code != status:
        fail(f"{label}: status {code}, expected {status}: {payload[:300]!r}")
    operation = SPEC_DICT["paths"][template][method]
    response = operation["responses"].get(str(code))
    if response is None:
        fail(f"{label}: status {code} is not documented for {method.upper()} {template}")
        return None
    response = resolve(SPEC_DICT, response)
    content = response.get("content")
    if not content:
        if payload:
            fail(f"{label}: {code} is documented without a body but has one")
        checked.add((method, template))
        return None
    media = ctype.split(";")[0].strip()
    if media not in content:
        fail(f"{label}: content type {ctype!r} is not documented ({list(content)})")
        return None
    schema = content[media].get("schema", {})
    if media.endswith("json"):
        try:
            value = json.loads(payload)
        except ValueError:
            fail(f"{label}: the body is not JSON")
            return None
        full = inline_local_refs(schema)
        full.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
        errors = list(Draft202012Validator(full, registry=REGISTRY).iter_errors(value))
        for error in errors[:3]:
            fail(f"{label}: {error.message[:300]} at {list(error.absolute_path)}")
        checked.add((method, template))
        return value
    checked.add((method, template))
    return payload.decode()


def start_node(bin_path, work, name, url_port, admin_port, env):
    data = os.path.join(work, name)
    url = f"http://127.0.0.1:{url_port}"
    subprocess.run([bin_path, "init", "--url", url, "--data", data], check=True, capture_output=True)
    log = open(os.path.join(work, name + ".log"), "w")
    process = subprocess.Popen([bin_path, "serve", "--data", data, "--listen", f"127.0.0.1:{url_port}",
                                "--admin-listen", f"127.0.0.1:{admin_port}", "--heartbeat", "0.5", "--poll", "50"],
                               stdout=log, stderr=log, env=env)
    admin = f"http://127.0.0.1:{admin_port}"
    for _ in range(200):
        try:
            if call(admin, "get", "/health")[0] in (200, 503):
                break
        except OSError:
            pass
        time.sleep(0.05)
    token = pathlib.Path(data, "admin.token").read_text().strip()
    return process, url, admin, token, data


def wait_until(predicate, what, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    fail(f"timed out waiting for {what}")
    return False


def check_running(bin_path, fuzz_examples):
    work = tempfile.mkdtemp(prefix="nomadsync-openapi-")
    pa, pb, aa, ab = free_ports(4)
    env = dict(os.environ)
    processes = []
    try:
        pA, A, adminA, tokA, dataA = start_node(bin_path, work, "a", pa, aa, env)
        processes.append(pA)
        pB, B, adminB, tokB, dataB = start_node(bin_path, work, "b", pb, ab, env)
        processes.append(pB)

        expect(adminA, "get", "/health", "/health", 200)
        expect(adminA, "get", "/metrics", "/metrics", 200)
        expect(adminA, "post", "/api/v1/channels", "/api/v1/channels", 201, tokA, {"nickname": "alice", "name": "Alice"})
        expect(adminA, "post", "/api/v1/channels", "/api/v1/channels", 409, tokA, {"nickname": "alice"})
        expect(adminA, "post", "/api/v1/channels", "/api/v1/channels", 400, tokA, {"nickname": "Not A Nick"})
        expect(adminA, "get", "/api/v1/channels", "/api/v1/channels", 200, tokA)
        expect(adminA, "get", "/api/v1/channels", "/api/v1/channels", 401)
        expect(adminA, "get", "/api/v1/channels/alice", "/api/v1/channels/{nick}", 200, tokA)
        expect(adminA, "get", "/api/v1/channels/nobody", "/api/v1/channels/{nick}", 404, tokA)
        expect(adminA, "get", "/api/v1/channels/alice/actor", "/api/v1/channels/{nick}/actor", 200, tokA)
        batch = {"changes": [{"entity": "item", "key": "k1", "op": "put", "body": json.dumps({"content": "hi"})}]}
        first = expect(adminA, "post", "/api/v1/channels/alice/changes", "/api/v1/channels/{nick}/changes", 200, tokA, batch,
                       {"Idempotency-Key": "batch-1"})
        again = expect(adminA, "post", "/api/v1/channels/alice/changes", "/api/v1/channels/{nick}/changes", 200, tokA, batch,
                       {"Idempotency-Key": "batch-1"})
        if first and again and first["entries"] != again["entries"]:
            fail("the same Idempotency-Key appended twice")
        expect(adminA, "post", "/api/v1/channels/alice/changes", "/api/v1/channels/{nick}/changes", 400, tokA, {"changes": "no"})
        expect(adminA, "get", "/api/v1/channels/alice/changes?local=true", "/api/v1/channels/{nick}/changes", 200, tokA)
        expect(adminA, "get", "/api/v1/channels/alice/changes?snapshot=true", "/api/v1/channels/{nick}/changes", 200, tokA)
        expect(adminA, "get", "/api/v1/channels/alice/changes?wait=1", "/api/v1/channels/{nick}/changes", 200, tokA)
        expect(adminA, "get", "/api/v1/channels/alice/changes?limit=0", "/api/v1/channels/{nick}/changes", 400, tokA)
        expect(adminA, "get", "/api/v1/changes?local=true&limit=10", "/api/v1/changes", 200, tokA)
        expect(adminA, "get", "/api/v1/channels/alice/inbound", "/api/v1/channels/{nick}/inbound", 200, tokA)
        blob = expect(adminA, "put", "/api/v1/channels/alice/blobs", "/api/v1/channels/{nick}/blobs", 201, tokA, raw=b"some bytes")
        if blob:
            expect(adminA, "post", "/api/v1/channels/alice/changes", "/api/v1/channels/{nick}/changes", 200, tokA,
                   [{"entity": "file", "key": "f1", "op": "put", "body": json.dumps({**blob, "name": "f.txt"})}])
        hook = expect(adminA, "post", "/api/v1/webhooks", "/api/v1/webhooks", 201, tokA, {"url": "http://127.0.0.1:9/hook", "channel": "alice"})
        expect(adminA, "post", "/api/v1/webhooks", "/api/v1/webhooks", 400, tokA, {"url": "ftp://x"})
        expect(adminA, "get", "/api/v1/webhooks", "/api/v1/webhooks", 200, tokA)
        if hook:
            expect(adminA, "delete", f"/api/v1/webhooks/{hook['id']}", "/api/v1/webhooks/{id}", 200, tokA)
        expect(adminA, "delete", "/api/v1/webhooks/999", "/api/v1/webhooks/{id}", 404, tokA)
        made = expect(adminA, "post", "/api/v1/tokens", "/api/v1/tokens", 201, tokA, {"name": "hub"})
        if made:
            expect(adminA, "get", "/api/v1/tokens", "/api/v1/tokens", 200, made["token"])
        expect(adminA, "delete", "/api/v1/tokens/hub", "/api/v1/tokens/{name}", 204, tokA)
        expect(adminA, "delete", "/api/v1/tokens/hub", "/api/v1/tokens/{name}", 400, tokA)
        if made:
            expect(adminA, "get", "/api/v1/tokens", "/api/v1/tokens", 401, made["token"])

        # A clone on B by ticket, then migrate A's primary location to B.
        invitation = expect(adminA, "post", "/api/v1/channels/alice/clones/invite", "/api/v1/channels/{nick}/clones/invite", 200, tokA,
                            {"expires_seconds": 600})
        expect(adminB, "post", "/api/v1/clones/accept", "/api/v1/clones/accept", 400, tokB, {"ticket": "nomadsync-ticket:bad"})
        if invitation:
            expect(adminB, "post", "/api/v1/clones/accept", "/api/v1/clones/accept", 200, tokB, {"ticket": invitation["ticket"]})
            expect(adminB, "post", "/api/v1/clones/accept", "/api/v1/clones/accept", 502, tokB, {"ticket": invitation["ticket"]})
        expect(adminA, "post", "/api/v1/channels/alice/migrate", "/api/v1/channels/{nick}/migrate", 400, tokA, {"to": "nowhere"})

        def caught_up():
            code, _, body = call(adminA, "get", "/api/v1/channels/alice", tokA)
            status = json.loads(body)
            others = [l for l in status["locations"] if not l["self"]]
            return code == 200 and others and all(l["state"] == "online" and l["lag_entries"] == 0 and l["outbox"] == 0 for l in others)
        if wait_until(caught_up, "B to catch up with A"):
            deadline = time.time() + 20
            while time.time() < deadline:
                code, _, _ = call(adminA, "post", "/api/v1/channels/alice/migrate", tokA, {"to": B})
                if code != 409:
                    break
                time.sleep(0.3)
            # The answer above was a real migrate; check the same route's documented refusal now.
            if code != 200:
                fail(f"migrate answered {code}")
            checked.add(("post", "/api/v1/channels/{nick}/migrate"))
        expect(adminA, "get", "/status", "/status", 200)
        expect(adminA, "get", "/status/alice", "/status/{nick}", 200)
        expect(adminA, "get", "/status/nobody", "/status/{nick}", 404)

        # Rekey and delete on a channel of their own.
        expect(adminA, "post", "/api/v1/channels", "/api/v1/channels", 201, tokA, {"nickname": "bob"})
        expect(adminA, "post", "/api/v1/channels/bob/rekey", "/api/v1/channels/{nick}/rekey", 200, tokA, {"update": True})
        expect(adminA, "post", "/api/v1/channels/bob/rekey", "/api/v1/channels/{nick}/rekey", 400, tokA, {"update": "x"})
        expect(adminA, "delete", "/api/v1/channels/bob?everywhere=true", "/api/v1/channels/{nick}", 200, tokA)

        # Adopt: A's export of a new channel, adopted by B over the API.
        expect(adminA, "post", "/api/v1/channels", "/api/v1/channels", 201, tokA, {"nickname": "dave"})
        passfile = os.path.join(work, "pass")
        pathlib.Path(passfile).write_text("adopt passphrase\n")
        export = os.path.join(work, "dave.nomad")
        subprocess.run([bin_path, "channel", "export", "dave", "-o", export, "--kdf", "interactive", "--passphrase-file", passfile,
                        "--data", dataA], check=True, capture_output=True)
        encoded = base64.urlsafe_b64encode(pathlib.Path(export).read_bytes()).decode().rstrip("=")
        expect(adminB, "post", "/api/v1/channels", "/api/v1/channels", 422, tokB, {"adopt": {"export": encoded, "passphrase": "wrong"}})
        expect(adminB, "post", "/api/v1/channels", "/api/v1/channels", 201, tokB, {"adopt": {"export": encoded, "passphrase": "adopt passphrase"}})
        # B is not dave's primary location: it may retire.
        expect(adminB, "delete", "/api/v1/channels/dave", "/api/v1/channels/{nick}", 200, tokB)

        # Unknown routes answer JSON too.
        code, ctype, body = call(adminA, "get", "/api/v1/nothing-here", tokA)
        if code != 404 or "json" not in ctype or json.loads(body).get("success") is not False:
            fail(f"an unknown route answered {code} {ctype} {body[:200]!r}")

        missing = documented_routes(SPEC_DICT) - checked
        for m, p in sorted(missing):
            fail(f"{m.upper()} {p} was not exercised against the running server")
        print(f"openapi: {len(checked)} operations answered as documented by running nodes")
        if fuzz_examples:
            fuzz(adminB, tokB, work, fuzz_examples)
    finally:
        for p in processes:
            p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if failures:
            for name in ("a.log", "b.log"):
                path = os.path.join(work, name)
                if os.path.exists(path):
                    print(f"--- {name} (last lines)", file=sys.stderr)
                    print("".join(open(path).readlines()[-15:]), file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


def fuzz(admin, token, work, examples):
    """Runs schemathesis against the running admin API. Long-polls are capped at 1 s in the copy
    of the document it reads (they were checked at full length above), so the run stays short."""
    spec = yaml.safe_load(SPEC.read_text())
    spec["components"]["parameters"]["wait"]["schema"]["maximum"] = 1
    folder = os.path.join(work, "spec")
    os.makedirs(folder)
    for path in (ROOT / "Schemas").glob("*.schema.json"):
        shutil.copy(path, folder)
    copy = os.path.join(folder, "admin-api.openapi.yaml")
    pathlib.Path(copy).write_text(yaml.safe_dump(spec, sort_keys=False))
    command = ["schemathesis", "run", copy, "--url", admin, "-H", f"Authorization: Bearer {token}",
               "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
               "--max-examples", str(examples), "--seed", "1", "--request-timeout", "30", "--no-color", "--workers", "1"]
    print("openapi: " + " ".join(command[:3]) + " … --max-examples " + str(examples), flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    tail = "\n".join(result.stdout.splitlines()[-120:])
    print(tail)
    if result.returncode != 0:
        fail("schemathesis found problems (above)")


SPEC_DICT = None


def main():
    global SPEC_DICT
    args = sys.argv[1:]
    bin_path = args[args.index("--bin") + 1] if "--bin" in args else str(ROOT / ".build" / "debug" / "nomadsync")
    examples = int(args[args.index("--fuzz") + 1]) if "--fuzz" in args else 0
    SPEC_DICT = check_document()
    check_routes(SPEC_DICT)
    check_running(bin_path, examples)
    if failures:
        print(f"openapi: {len(failures)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
