#!/usr/bin/env python3
"""Every example in Sources/BerthAPI/openapi.yaml matches its schema: the `examples` of each
component schema, and the `example`/`examples` of each parameter and media type. An example that
drifts from its schema misleads integrators and schemathesis (which sends the request examples).

Exit status: 0 when all match, 1 otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import jsonschema  # installed with schemathesis in the venv of scripts/ensure-api-test-python.sh
import yaml

SPEC = Path(__file__).resolve().parent.parent.parent / "Sources" / "BerthAPI" / "openapi.yaml"


def main() -> int:
    spec = yaml.safe_load(SPEC.read_text())
    components = spec["components"]
    checked, problems = 0, []

    def check(where: str, schema: dict, value: object) -> None:
        nonlocal checked
        checked += 1
        rooted = {**schema, "components": components}
        for error in jsonschema.Draft202012Validator(rooted).iter_errors(value):
            problems.append(f"{where}: {error.message}")

    for name, schema in components["schemas"].items():
        for index, value in enumerate(schema.get("examples", [])):
            check(f"components/schemas/{name}/examples/{index}", schema, value)
    for name, parameter in components.get("parameters", {}).items():
        if "example" in parameter:
            check(f"components/parameters/{name}/example", parameter["schema"], parameter["example"])
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            bodies = [("requestBody", operation.get("requestBody", {}))]
            bodies += [(f"responses/{code}", response) for code, response in operation["responses"].items()]
            for where, holder in bodies:
                for media, content in holder.get("content", {}).items():
                    values = [content["example"]] if "example" in content else []
                    values += [entry.get("value") for entry in content.get("examples", {}).values()]
                    for value in values:
                        check(f"{operation['operationId']} {where} {media}", content.get("schema", {}), value)
    for problem in problems:
        print(f"check_spec_examples: FAIL: {problem}")
    print(f"check_spec_examples: {checked} examples, {len(problems)} not matching their schema")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
