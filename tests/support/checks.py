"""The outcome of each check of an end-to-end test script (tests/replicas, tests/swarm)."""

from __future__ import annotations


class Checks:
    """Every check's outcome, printed as it is decided; the run fails when one failed."""

    def __init__(self, program: str):
        self.program = program
        self.results: list[tuple[str, bool, str]] = []

    def record(self, label: str, passed: bool, message: str) -> bool:
        self.results.append((label, passed, message))
        print(f"{self.program}: {'ok' if passed else 'FAILED'}: {label}: {message}", flush=True)
        return passed

    @property
    def failed(self) -> list[tuple[str, bool, str]]:
        return [result for result in self.results if not result[1]]

    def summary(self) -> str:
        lines = [f"{self.program}: {len(self.results) - len(self.failed)} of {len(self.results)} checks passed"]
        for label, passed, message in self.results:
            lines.append(f"  {'PASS' if passed else 'FAIL'} {label}: {message}")
        return "\n".join(lines)


class Phase(Exception):
    """A phase cannot go on (what it needs failed); recorded as a failed check."""
