#!/usr/bin/env python3
"""Checks a Berth audit log export (`berth audit export > audit.jsonl`) without Berth.

Every entry's hash is the SHA-256 of "berth-audit-v1\\n" followed by these fields, in order,
each written as "<UTF-8 byte count>:<value>\\n" (a missing value is "-1:\\n"): previousHash,
sequence, timeMilliseconds, actorId, actorName, actorRole, clientIp, userAgent, action,
target, status, result, detail. The first entry's previousHash is 64 zeros; an export that
starts later is checked from its first entry. Standard library only.

Usage: python3 scripts/verify-audit-export.py audit.jsonl
Exit status: 0 when the chain holds, 1 when an entry was edited, removed or reordered.
"""

import hashlib
import json
import sys

FIELDS = ("previousHash", "sequence", "timeMilliseconds", "actorId", "actorName", "actorRole", "clientIp",
          "userAgent", "action", "target", "status", "result", "detail")


def entry_hash(entry: dict) -> str:
    text = "berth-audit-v1\n"
    for name in FIELDS:
        value = entry.get(name)
        if value is None:
            text += "-1:\n"
        else:
            value = str(value)
            text += f"{len(value.encode('utf-8'))}:{value}\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check(lines: list[str]) -> str | None:
    previous = None
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            return f"line {number} is not JSON"
        if previous is not None:
            if entry["sequence"] != previous["sequence"] + 1:
                return f"entry {entry['sequence']}: expected entry {previous['sequence'] + 1}: one is missing or out of order"
            if entry["previousHash"] != previous["hash"]:
                return f"entry {entry['sequence']}: its previous hash does not match the entry before it"
        elif entry["sequence"] == 1 and entry["previousHash"] != "0" * 64:
            return "entry 1: its previous hash is not the genesis hash"
        if entry_hash(entry) != entry["hash"]:
            return f"entry {entry['sequence']}: its contents do not match its hash: it was edited"
        previous = entry
    return None


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as handle:
        lines = [line for line in handle.read().split("\n") if line.strip()]
    problem = check(lines)
    if problem:
        print(f"INVALID: {problem}")
        return 1
    print(f"valid: {len(lines)} entries" + (f", head {json.loads(lines[-1])['sequence']} {json.loads(lines[-1])['hash']}" if lines else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
