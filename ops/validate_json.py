#!/usr/bin/env python3
"""Validates JSON documents against a schema in Schemas/ (JSON Schema 2020-12, python-jsonschema).

usage: validate_json.py SCHEMA_NAME FILE [--lines]
  --lines: FILE holds one JSON document per line.
Location entries (entity "location") also get their body validated against location.schema.json.
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMAS = pathlib.Path(__file__).resolve().parent.parent / "Schemas"


def registry():
    resources = []
    for path in SCHEMAS.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        resource = Resource.from_contents(schema)
        resources.append((schema["$id"], resource))
        resources.append((path.name, resource))
    return Registry().with_resources(resources)


def validator(name, reg):
    schema = json.loads((SCHEMAS / name).read_text())
    return Draft202012Validator(schema, registry=reg)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    name, file = sys.argv[1], sys.argv[2]
    lines = "--lines" in sys.argv[3:]
    reg = registry()
    v = validator(name, reg)
    location = validator("location.schema.json", reg)
    text = pathlib.Path(file).read_text()
    docs = [json.loads(l) for l in text.splitlines() if l.strip()] if lines else [json.loads(text)]
    if not docs:
        print(f"{file}: no documents to validate", file=sys.stderr)
        return 1
    failures = 0
    for i, doc in enumerate(docs, 1):
        errors = list(v.iter_errors(doc))
        entries = [doc] if name == "change-entry.schema.json" else doc["entries"] if name == "sync-data.schema.json" else []
        for e in entries:
            if isinstance(e, dict) and e.get("entity") == "location" and e.get("op") == "put":
                errors += list(location.iter_errors(json.loads(e["body"])))
        for err in errors:
            failures += 1
            print(f"{file} doc {i}: {err.json_path}: {err.message}", file=sys.stderr)
    print(f"{name}: {len(docs)} document(s) from {pathlib.Path(file).name}: {'ok' if failures == 0 else f'{failures} error(s)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
