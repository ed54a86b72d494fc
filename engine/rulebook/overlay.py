"""Deployment overlays: values for the parameters a policy's source text leaves to the platform.

A policy declares such a parameter without a value (``type`` and the ``clause`` that leaves it
open); a deployment supplies it in an overlay file, without editing the bundled policies::

    # deployment.yaml
    params:
      conduct:                       # policy id
        response_limit: 24h          # a literal of the language, checked against the declared type
        high_rate:                   # or dated, like any parameter
          values:
            2024-01-01: 0.05

Each value must fit the declaration: its type, and its range (``minimum:`` / ``maximum:`` in the policy;
without a ``minimum``, a duration, int or money value is not negative). A value out of range is an error
located here, naming the range (``cs-conduct.response_limit must be at least 0m, got -3m``): the policy
module checks it (:mod:`policy_eval.rulebook.policy.params`) while reading the value from this file.

The file is read like a policy file (safe YAML, positions kept: every error names
file:line:column); its bytes join the rulebook's content hash. As for policy files, a symbolic
link resolving outside the folder it is named in is refused unless links are followed
(``--follow-links``), and a file holding NUL bytes is refused whole, none of it quoted: a link
to ``/proc/self/environ`` would otherwise print the process environment into a CI log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError
from policy_eval.rulebook.errororder import in_order
from policy_eval.rulebook.policy.base import Entry, Source
from policy_eval.rulebook.yamlload import MAX_FILE_BYTES, load_yaml

__all__ = ["Overlay", "load_overlay"]


@dataclass
class Overlay:
    file: str | None = None
    raw: bytes = b""
    params: dict[str, dict[str, Entry]] = field(default_factory=dict)  # policy id → name → where the value is
    policies: dict[str, Entry] = field(default_factory=dict)  # policy id → where it is named

    def for_policy(self, policy_id: str) -> dict[str, Entry]:
        return self.params.get(policy_id, {})


def load_overlay(params: Path | str | Mapping[str, Any] | None, *, follow_links: bool = False) -> Overlay:
    """Read an overlay file (or, from the API, a mapping ``{policy: {name: value}}``).

    ``follow_links``: read the file even if it is a symbolic link resolving outside the folder it is
    named in.
    """
    if params is None:
        return Overlay()
    if isinstance(params, Mapping):
        text = yaml.safe_dump({"params": _plain(params)}, allow_unicode=True, sort_keys=False)
        raw, shown = text.encode("utf-8"), "<params>"
    else:
        file = Path(params)
        if not file.is_file():
            raise PolicyLoadError(f"no such parameter file: {file}", file=str(file))
        if file.stat().st_size > MAX_FILE_BYTES:
            raise PolicyLoadError(f"file too large (at most {MAX_FILE_BYTES} bytes)", file=str(file), line=1, column=1)
        shown = str(params)
        if not follow_links and not file.resolve().is_relative_to(file.absolute().parent.resolve()):
            raise PolicyLoadError("a symbolic link to a file outside its folder; refused (--follow-links or "
                                  "load_rulebook(follow_links=True) reads it)", file=shown, line=1, column=1)
        raw = file.read_bytes()
        if b"\x00" in raw:  # not YAML text (a binary, UTF-16, /proc/self/environ): quote none of it
            raise PolicyLoadError("not a YAML text file: it holds NUL bytes (none of it is shown)", file=shown,
                                  line=1, column=1)
    data, pos = load_yaml(raw, shown)
    src = Source(data, pos)
    overlay = Overlay(shown, raw)
    errors: list[PolicyError] = []
    if not isinstance(data, dict) or set(data) != {"params"} or not isinstance(data["params"], dict):
        raise ErrorList([pos.error("a parameter file is a mapping with one key, 'params:', holding "
                                   "<policy id>: {<parameter>: <value>}", ())])
    for pid, values in data["params"].items():
        if not isinstance(values, dict):
            errors.append(pos.error(f"params.{pid}: expected a mapping of parameter names to values", ("params", pid)))
            continue
        overlay.policies[str(pid)] = Entry(src, ("params", pid))
        entries = overlay.params.setdefault(str(pid), {})
        for name, value in values.items():
            path = ("params", pid, name)
            if isinstance(value, dict) and not (set(value) == {"value"} or (
                    set(value) == {"values"} and isinstance(value["values"], dict) and value["values"])):
                ranged = sorted({"minimum", "maximum"} & set(value))
                errors.append(pos.error(f"parameter '{name}': give a value, or 'values:' by date", path)
                              if not ranged else
                              pos.error(f"parameter '{name}': '{ranged[-1]}' belongs to the policy's declaration of "
                                        "the parameter, not to a deployment (an overlay gives a value, or 'values:' "
                                        "by date, within the declared range)", path + (ranged[-1],), key=True))
                continue
            entries[str(name)] = Entry(src, path)
    if errors:
        raise ErrorList(in_order(errors))
    return overlay


def _plain(value: Any) -> Any:
    """A mapping from the API as YAML can write it (values as their text)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    return str(value)
