"""Where ``eval``'s records come from: its inputs (files, folders, stdin) or a plugin's loader, and their size."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from policy_eval.cli.common import UsageError

__all__ = ["eval_records", "input_size"]


def eval_records(args: argparse.Namespace, stdin: IO[bytes] | None, findings_blocks: bool = False) -> Any:
    """The inputs' records; with workers (--jobs 2+, Dask), plain JSON Lines files as byte ranges that the
    workers read themselves (policy_eval.rulebook.shards): this process then reads them only to find line
    starts, and parses nothing. ``findings_blocks``: the workers write findings records in blocks (json and jsonl
    reports), made a part at a time whatever the range: local workers then read larger ranges."""
    from policy_eval.plugin_manager import get_plugin_manager
    from policy_eval.rulebook.cases import read_cases
    from policy_eval.rulebook.shards import FINDINGS_SHARD_BYTES, SHARD_BYTES

    fmt = args.input_format
    if fmt and fmt not in ("json", "jsonl"):
        loaders = get_plugin_manager().loaders()
        if fmt not in loaders:
            raise UsageError(f"unknown --input-format {fmt!r} (available: "
                             f"{', '.join(['json', 'jsonl', *sorted(loaders)])})")
        return _plugin_records(loaders[fmt], args.cases, stdin)
    shards = None if args.jobs <= 1 and args.engine != "dask" else \
        FINDINGS_SHARD_BYTES if args.engine != "dask" and findings_blocks else SHARD_BYTES
    return read_cases(args.cases, stdin=stdin, raw=True, fmt=fmt, shards=shards)


def _plugin_records(loader: Any, inputs: Sequence[str], stdin: IO[bytes] | None) -> Any:
    for item in inputs:
        if item == "-":
            stream = stdin or sys.stdin.buffer
            for number, case in loader(stream, source="<stdin>", options={}):
                yield "<stdin>", number, case
            continue
        with open(item, "rb") as fh:
            for number, case in loader(fh, source=item, options={}):
                yield item, number, case


def input_size(inputs: Sequence[str]) -> int | None:
    """The inputs' size in bytes, for the progress line; None when unknown (stdin, a folder)."""
    total = 0
    for item in inputs:
        if item == "-":
            return None
        p = Path(item)
        if p.is_file():
            total += p.stat().st_size
        elif p.is_dir():
            return None
    return total or None
