"""Option plumbing shared by the commands: argument types and the option groups several commands take.

A command adds a group by listing it in ``parents=`` of its sub-parser, e.g.
``sub.add_parser("x", parents=[options.plugin(), options.policies()])``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import PurePath

__all__ = ["instant", "positive", "jobs", "seconds_or_none", "percent", "output_file", "format_of", "plugin", "policies",
           "params", "rule", "as_of", "cost", "FORMATTER"]

FORMATTER = argparse.RawDescriptionHelpFormatter


def instant(text: str) -> _dt.datetime:
    from policy_eval.rulebook.policy import parse_instant

    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date or datetime: {text!r} ({exc}); "
                                         "write e.g. 2021-01-01 or 2021-01-01T08:00:00+08:00") from None


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def jobs(text: str) -> int:
    """``--jobs``: a number of worker processes, or ``auto``: one per CPU this process may run on (its
    affinity mask, which taskset, cgroups' cpusets and container runtimes narrow; else the machine's count)."""
    if text.strip().lower() == "auto":
        return usable_cpus()
    try:
        int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number or 'auto': {text!r}") from None
    return positive(text)


def usable_cpus() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # (no affinity on this platform: macOS, Windows)
        return max(1, os.cpu_count() or 1)


def output_file(text: str) -> str:
    """``-o FILE``: a file name, never the empty one (``-o ""``, an unset shell variable): that would silently
    write the report to stdout instead."""
    if not text:
        raise argparse.ArgumentTypeError("an empty file name; leave -o out to write to stdout")
    return text


# ``-o FILE``'s extension (lower case) -> the report format it implies when ``--format`` is not given.
FORMAT_BY_SUFFIX = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".sarif": "sarif", ".xml": "junit"}


def format_of(output: str | None) -> str:
    """The report format of a run given no ``--format``: the one ``-o FILE``'s extension names (an operator's
    ``-o results.jsonl`` over a million records wants JSON Lines, not the text report), else text."""
    if not output:
        return "text"
    name = PurePath(output)
    if name.suffix.lower() == ".gz":  # (-o FILE.gz is written compressed: its format is the name's before .gz)
        name = name.with_suffix("")
    return FORMAT_BY_SUFFIX.get(name.suffix.lower(), "text")


def percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100, got {text}")
    return value


def plugin() -> argparse.ArgumentParser:
    """``--plugin MODULE`` (repeatable)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="load a plugin module (repeatable); installed plugins load automatically")
    return p


def rule(p: argparse.ArgumentParser, *, dest: str = "rule") -> None:
    """``--rule RULE`` (repeatable), the one name every command uses to select rules; ``--only`` is its
    old spelling in ``eval``, accepted but hidden for one release."""
    p.add_argument("--rule", action="append", dest=dest, metavar="RULE",
                   help="only this rule or policy (rule, policy/rule or policy id; repeatable)"
                   ).completer = rule_ids  # type: ignore[attr-defined]
    p.add_argument("--only", action="append", dest=dest, help=argparse.SUPPRESS)


def as_of(p: argparse.ArgumentParser, help: str = "pick policy versions in force at this date/datetime") -> None:
    """``--as-of WHEN``, the one name every command uses for a date; ``--at`` is its old spelling in
    ``rules``, accepted but hidden for one release."""
    p.add_argument("--as-of", type=instant, dest="as_of", metavar="WHEN", help=help)
    p.add_argument("--at", type=instant, dest="as_of", help=argparse.SUPPRESS)


PARAMS_HELP = ("a deployment overlay (YAML): values for the parameters the source texts leave to the platform "
               "(docs/policies.md, Parameters a deployment sets)")


def params() -> argparse.ArgumentParser:
    """``--params FILE``: the deployment overlay (every command that loads a rulebook takes it)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--params", metavar="FILE", help=PARAMS_HELP)
    return p


def policies(*, params_flag: bool = False) -> argparse.ArgumentParser:
    """``--policies/-p DIR``, ``--schemas DIR``, ``--params FILE`` and ``--follow-links``.

    ``params_flag``: ``--params`` may also be given without a file (``rules --params`` lists the parameters).
    """
    p = argparse.ArgumentParser(add_help=False)
    if params_flag:
        p.add_argument("--params", nargs="?", const="", metavar="FILE",
                       help="list every parameter: value or unset, source (text, deployment), clause and the rules "
                            "using it; with FILE, " + PARAMS_HELP)
    else:
        p.add_argument("--params", metavar="FILE", help=PARAMS_HELP)
    p.add_argument("--policies", "-p", metavar="DIR", help="policy folder or file (default: the bundled rulebook)")
    p.add_argument("--schemas", metavar="DIR",
                   help="folder holding cases/<kind>.schema.json (default: beside the policies, else bundled)")
    p.add_argument("--follow-links", action="store_true",
                   help="read policy files (and sub-folders) that are symbolic links to places outside the policy "
                        "folder (refused by default: a link to /proc/self/environ would be read and quoted)")
    return p


def count(text: str) -> int:
    """A whole number of 1 or more, thousands separators allowed (1,000,000 or 1_000_000)."""
    return positive(text.replace(",", "").replace("_", ""))


def ceiling(text: str) -> int | None:
    """``--max-cost``: a whole number of items, or ``none`` for no ceiling."""
    return None if text.strip().lower() in ("none", "off") else count(text)


def seconds_or_none(text: str) -> float | None:
    """A positive number of seconds, or ``none`` for no limit."""
    if text.strip().lower() in ("none", "off"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds or 'none': {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return value


def cost() -> argparse.ArgumentParser:
    """``--max-cost N``: the ceiling on each condition's static cost estimate (docs/language.md, Cost)."""
    from policy_eval.lang.cost import DEFAULT_CEILING

    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--max-cost", type=ceiling, default=DEFAULT_CEILING, metavar="N",
                   help=f"refuse a condition whose static cost estimate is above N items (default: "
                        f"{DEFAULT_CEILING:,}; 'none': no ceiling; docs/language.md, Cost)")
    return p


def rule_ids(prefix: str, parsed_args: argparse.Namespace, **_: object) -> list[str]:
    """TAB completion (argcomplete) of ``--rule``/``--skip``: the policy and rule ids of the rulebook that
    ``-p`` names, or the bundled one. A folder that does not load completes nothing; ``check`` says why."""
    from policy_eval.rulebook import load_rulebook

    try:
        rb = load_rulebook(getattr(parsed_args, "policies", None))
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []
    names: set[str] = set()
    for version in rb.versions():
        names.add(version.id)
        for rule in version.rules:
            names.update((rule.id, rule.full_id))
    return sorted(n for n in names if n.startswith(prefix))
