"""``policy-eval test --watch`` as a subprocess, for the tests that drive it (tests/test_test_watch.py,
tests/test_test_watch_cases.py): the :class:`Watcher` reading its output, and :func:`save` writing a file
as editors do. The ``watcher`` fixture of tests/conftest.py starts one on the requesting module's
``folder`` (a copy of :data:`DATA`) and stops it after the test.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

__all__ = ["DATA", "PE", "WAIT", "SUMMARY", "Watcher", "save", "watch"]

DATA = Path(__file__).resolve().parent / "data" / "watch"
PE = Path(sys.executable).parent / "policy-eval"
WAIT = 60.0  # seconds: an upper bound for one rerun on a loaded CI machine, not a pause


class Watcher:
    """The running ``test --watch`` and its merged output, read line by line on a thread."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     encoding="utf-8")
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def until(self, pattern: str) -> str:
        """The output from here up to and including the first line matching ``pattern``."""
        seen: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {WAIT}s; got:\n{''.join(seen)}") from None
            if line is None:
                raise AssertionError(f"the watcher ended before {pattern!r}; got:\n{''.join(seen)}")
            seen.append(line)
            if re.search(pattern, line):
                return "".join(seen)

    def rest(self) -> str:
        out: list[str] = []
        while (line := self.lines.get(timeout=WAIT)) is not None:
            out.append(line)
        return "".join(out)


def save(path: Path, text: str) -> None:
    """Save as editors do: write a temporary file beside it, then rename it over the old one (one event, and
    never a half-written file seen)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


SUMMARY = r"^\d+ passed, \d+ failed"


def watch(folder: Path) -> Watcher:
    """``test --watch`` on a copy of :data:`DATA` (its ``policies`` and ``tests``)."""
    return Watcher([str(PE), "test", "--watch", "-p", str(folder / "policies"), str(folder / "tests")])
