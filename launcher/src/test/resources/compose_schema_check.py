#!/usr/bin/env python3
"""Validates a Compose file against the Compose Specification's JSON schema (ComposeFileTest).

    compose_schema_check.py COMPOSE.yaml SCHEMA.json

Prints each violation with its path; exits 0 when there is none, 1 when there are, 2 when it
cannot check (Debian's python3-jsonschema or python3-yaml missing: ./mailcluster test installs them).
"""
import json
import sys

try:
    import jsonschema
    import yaml
except ImportError as missing:
    print("python3-jsonschema or python3-yaml is missing (./mailcluster test installs them): %s" % missing)
    sys.exit(2)


def main():
    with open(sys.argv[1]) as compose:
        document = yaml.safe_load(compose)
    with open(sys.argv[2]) as schema_file:
        schema = json.load(schema_file)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.path])
    for error in errors:
        print("/".join(str(p) for p in error.path) + ": " + error.message)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
