#!/usr/bin/env python3
"""An example paired server: what a social server does to use nomadsync, in one small file.

It keeps a mirror of each channel in DIR/<channel>.json — every live document, every activity
delivered for the channel — fed by nomadsync's changes feed, and posts its own changes. Python's
standard library only.

    # follow the feed of one node (long-poll), mirroring every channel:
    paired_server.py follow --admin unix:data/admin.sock --token-file data/admin.token --out mirror/

    # or receive the webhook instead (nomadsync webhook add http://127.0.0.1:8090/hook):
    paired_server.py webhook --listen 127.0.0.1:8090 --secret=KEY --out mirror/

    # post a change of its own (the Idempotency-Key makes a retry safe):
    paired_server.py post --admin unix:data/admin.sock --token-file data/admin.token \\
        --channel alice --entity item --key note-1 --body '{"content":"hi"}'

Each mirror file is {"cursor", "documents": {"entity/key": document}, "inbound": {id: activity},
"applied", "duplicates", "received": {"entity/key": changes applied}, "ids"}: a change whose id the mirror has applied already is counted as a
duplicate and ignored, so a page seen twice (after a crash between the answer and nomadsync's
cursor update) changes nothing. The cursor is saved with the mirror, in one atomic file write, so
`follow` resumes where it stopped after a restart or kill -9.
"""
import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import uuid


# --- the admin API (Unix socket or TCP) --------------------------------------------------------

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class AdminAPI:
    """`unix:/path/admin.sock` or `http://127.0.0.1:8451`, with the bearer token."""

    def __init__(self, address, token):
        self.address = address
        self.token = token

    def request(self, method, path, body=None, headers=None, timeout=70):
        if self.address.startswith("unix:"):
            connection = UnixConnection(self.address[5:], timeout)
        else:
            url = urllib.parse.urlsplit(self.address)
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        all_headers = {"Authorization": "Bearer " + self.token, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=all_headers)
            answer = connection.getresponse()
            payload = answer.read()
            return answer.status, json.loads(payload) if payload else None
        finally:
            connection.close()


# --- the mirror -------------------------------------------------------------------------------

class Mirror:
    """One JSON file per channel; changes applied once by id; written atomically."""

    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.Lock()
        os.makedirs(folder, exist_ok=True)

    def path(self, channel):
        return os.path.join(self.folder, channel + ".json")

    def load(self, channel):
        try:
            with open(self.path(channel)) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"cursor": "", "documents": {}, "inbound": {}, "applied": 0, "duplicates": 0, "ids": [], "received": {}}

    def save(self, channel, mirror):
        temporary = self.path(channel) + ".tmp"
        with open(temporary, "w") as f:
            json.dump(mirror, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.path(channel))

    def apply(self, page, cursor_key="cursor"):
        """Applies a feed page; returns (applied, duplicates)."""
        applied = duplicates = 0
        with self.lock:
            by_channel = {}
            for change in page["changes"]:
                by_channel.setdefault(change["channel"], []).append(change)
            for channel, changes in by_channel.items():
                mirror = self.load(channel)
                seen = set(mirror["ids"])
                for change in changes:
                    if change["id"] in seen:
                        mirror["duplicates"] += 1
                        duplicates += 1
                        continue
                    seen.add(change["id"])
                    mirror["ids"].append(change["id"])
                    mirror["applied"] += 1
                    path = change["entity"] + "/" + change["key"]
                    mirror["received"][path] = mirror["received"].get(path, 0) + 1
                    applied += 1
                    if change["entity"] == "inbound":
                        mirror["inbound"][change["key"]] = json.loads(change["body"])
                    elif change["op"] == "delete":
                        mirror["documents"].pop(change["entity"] + "/" + change["key"], None)
                    else:
                        mirror["documents"][change["entity"] + "/" + change["key"]] = json.loads(change["body"])
                mirror["cursor"] = page["cursor"]
                self.save(channel, mirror)
            state = self.load_state()
            state[cursor_key] = page["cursor"]
            self.save_state(state)
        return applied, duplicates

    def load_state(self):
        try:
            with open(os.path.join(self.folder, "_feed.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def save_state(self, state):
        temporary = os.path.join(self.folder, "_feed.json.tmp")
        with open(temporary, "w") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, os.path.join(self.folder, "_feed.json"))


# --- follow: long-poll the feed ---------------------------------------------------------------

def follow(args):
    api = AdminAPI(args.admin, read_token(args))
    mirror = Mirror(args.out)
    path = f"/api/v1/channels/{args.channel}/changes" if args.channel else "/api/v1/changes"
    deadline = time.time() + args.seconds if args.seconds else None
    while deadline is None or time.time() < deadline:
        cursor = mirror.load_state().get("cursor", "")
        query = urllib.parse.urlencode({"after": cursor, "wait": args.wait, "limit": 500})
        try:
            status, page = api.request("GET", f"{path}?{query}")
        except OSError as error:
            print(f"feed: {error}; retrying in 1 s", file=sys.stderr)
            time.sleep(1)
            continue
        if status != 200:
            print(f"feed: {status} {page}; retrying in 1 s", file=sys.stderr)
            time.sleep(1)
            continue
        if page["changes"]:
            applied, duplicates = mirror.apply(page)
            print(f"feed: {applied} applied, {duplicates} already had, cursor {page['cursor']}", flush=True)


# --- webhook: receive pushed pages ------------------------------------------------------------

def webhook(args):
    mirror = Mirror(args.out)
    key = base64url_decode(args.secret)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            if length > 16 * 1024 * 1024:
                self.send_error(413)
                return
            body = self.rfile.read(length)
            expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, self.headers.get("X-Nomadsync-Signature", "")):
                self.send_error(401, "bad signature")
                return
            applied, duplicates = mirror.apply(json.loads(body), cursor_key="webhook_cursor")
            print(f"webhook: {applied} applied, {duplicates} already had", flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_):
            pass

    host, port = args.listen.rsplit(":", 1)
    server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    print(f"webhook: listening on {args.listen}", flush=True)
    server.serve_forever()


# --- post: the paired server's own change -----------------------------------------------------

def post(args):
    api = AdminAPI(args.admin, read_token(args))
    change = {"entity": args.entity, "key": args.key, "op": "delete" if args.delete else "put",
              "body": "" if args.delete else json.dumps(json.loads(args.body), separators=(",", ":"))}
    key = args.idempotency_key or str(uuid.uuid4())
    for attempt in range(5):
        try:
            status, answer = api.request("POST", f"/api/v1/channels/{args.channel}/changes", [change],
                                         {"Idempotency-Key": key})
        except OSError as error:
            print(f"post: {error}; retrying with the same Idempotency-Key", file=sys.stderr)
            time.sleep(0.5 * (attempt + 1))
            continue
        print(json.dumps(answer))
        return 0 if status == 200 else 1
    return 1


def read_token(args):
    if args.token:
        return args.token
    with open(args.token_file) as f:
        return f.read().strip()


def base64url_decode(text):
    import base64
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("follow", "post"):
        p = sub.add_parser(name)
        p.add_argument("--admin", required=True, help="unix:PATH or http://HOST:PORT of the admin listener")
        p.add_argument("--token")
        p.add_argument("--token-file")
        p.add_argument("--channel")
    f = sub.choices["follow"]
    f.add_argument("--out", required=True)
    f.add_argument("--wait", type=int, default=30)
    f.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    w = sub.add_parser("webhook")
    w.add_argument("--listen", required=True)
    w.add_argument("--secret", required=True,
                   help="the key `webhook add` printed (base64url); write --secret=KEY, as a key may begin with '-'")
    w.add_argument("--out", required=True)
    p = sub.choices["post"]
    p.add_argument("--entity", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--body", default="{}")
    p.add_argument("--delete", action="store_true")
    p.add_argument("--idempotency-key")
    args = parser.parse_args()
    if args.command in ("follow", "post") and not (args.token or args.token_file):
        parser.error("--token or --token-file is needed")
    if args.command == "post" and not args.channel:
        parser.error("post needs --channel")
    return {"follow": follow, "webhook": webhook, "post": post}[args.command](args) or 0


if __name__ == "__main__":
    sys.exit(main())
