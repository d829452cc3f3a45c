#!/usr/bin/env python3
"""Expands an actor document with JSON-LD (pyld) against the contexts embedded in
Schemas/contexts/ (no network) and checks that every property resolves to the IRI the protocol
names (docs/PROTOCOL.md §7.6) and that the Multikey decodes to the channel's Ed25519 key.
    check_jsonld.py ACTOR.json [PUBLIC_KEY_BASE64URL]"""
import base64, json, os, sys
from pyld import jsonld

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Schemas", "contexts")
embedded = {
    "https://www.w3.org/ns/activitystreams": "activitystreams.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
}

def loader(url, options=None):
    if url not in embedded:
        raise jsonld.JsonLdError("context not embedded: " + url, "loading document failed")
    with open(os.path.join(here, embedded[url])) as f:
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": json.load(f)}

AS = "https://www.w3.org/ns/activitystreams#"
SEC = "https://w3id.org/security#"
expected = {
    "id": "@id", "type": "@type", "preferredUsername": AS + "preferredUsername", "name": AS + "name",
    "url": AS + "url", "inbox": "http://www.w3.org/ns/ldp#inbox", "outbox": AS + "outbox",
    "copiedTo": "https://w3id.org/fep/7628#copiedTo", "alsoKnownAs": AS + "alsoKnownAs",
    "movedTo": AS + "movedTo", "assertionMethod": SEC + "assertionMethod",
}

def base58_decode(text):
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n = 0
    for ch in text:
        n = n * 58 + alphabet.index(ch)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body

def fail(message):
    print("json-ld: " + message, file=sys.stderr)
    sys.exit(1)

doc = json.load(open(sys.argv[1]))
expanded = jsonld.expand(doc, {"documentLoader": loader})
if len(expanded) != 1:
    fail("expected one node, got %d" % len(expanded))
node = expanded[0]
for term, iri in expected.items():
    if term not in doc:
        continue
    if iri.startswith("@"):
        if iri not in node:
            fail("%s did not expand to %s" % (term, iri))
    elif iri not in node:
        fail("%s did not expand to <%s>; expanded keys: %s" % (term, iri, sorted(node)))
if node.get("@type") != [AS + "Person"]:
    fail("type is not as:Person: %s" % node.get("@type"))
for key in node:
    if key.startswith("_:"):
        fail("term %s has no IRI in the embedded contexts" % key[2:])
methods = node[SEC + "assertionMethod"]
method = methods[0]
if method.get("@type") != [SEC + "Multikey"]:
    fail("assertionMethod is not a sec:Multikey: %s" % method.get("@type"))
multibase = method[SEC + "publicKeyMultibase"][0]["@value"]
raw = base58_decode(multibase[1:])
if multibase[0] != "z" or raw[:2] != b"\xed\x01" or len(raw) != 34:
    fail("publicKeyMultibase is not a base58btc ed25519-pub multikey")
if len(sys.argv) > 2:
    key = base64.urlsafe_b64decode(sys.argv[2] + "=" * (-len(sys.argv[2]) % 4))
    if raw[2:] != key:
        fail("the Multikey is not the channel's public key")
print("json-ld: %s expands to the expected IRIs" % os.path.basename(sys.argv[1]))
