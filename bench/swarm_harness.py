"""Reading the three-node Swarm harness of scripts/swarm-harness.sh (its env file), for the swarm
benchmark and the swarm test."""

from __future__ import annotations

import shlex
from pathlib import Path

DEFAULT_HARNESS_ENV = "/run/berth-swarm/env"


def read_harness_env(path: str) -> dict[str, str]:
    """The `export NAME=value` lines of the harness's env file."""
    values: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):]
        if "=" not in line or line.startswith("#"):
            continue
        name, value = line.split("=", 1)
        parts = shlex.split(value)
        values[name.strip()] = parts[0] if len(parts) == 1 else " ".join(parts)
    return values
