"""Format policy and policy-test files: one canonical layout, comments and the editor line kept.

Input: the text of a policy file (top-level ``policy:``) or a policy-test file (top-level ``tests:``).
Output: the same document in canonical layout (:func:`format_text`), or a :class:`FormatError` when the
text is not YAML or the result would not mean the same as the input.

The layout: keys in the documented order (docs/policies.md; unknown keys keep their place after the
known ones), mappings indented by 2, list items indented by 2 under their key (``  - id: ...``), double
quotes wherever quotes are needed (single quotes become double), conditions spaced from their tokens
(``a.b == 1 and f(x, y)``), and a condition longer than :data:`WIDTH` folded (``>-``) before ``and`` /
``or``. Comments, flow style (``{...}``, ``[...]``), anchors and block scalars of other text stay as written;
a comment the round trip would drop (inside a flow collection, or between a key and its value on the next
line) stops the format with its position (:mod:`policy_eval.authoring.comments`).

The round trip is ruamel.yaml's; the project's own safe loader then checks that the formatted text loads
to the same data as the original (conditions compared token by token), so formatting never changes what
a policy says.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.emitter import Emitter
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from policy_eval.authoring.comments import align_comments, lost
from policy_eval.authoring.spacing import respace, tokens
from policy_eval.authoring.yamlexpr import EXPRESSION_KEYS
from policy_eval.errors import PolicyError, PolicyLoadError
from policy_eval.rulebook.yamlload import load_yaml

__all__ = ["format_text", "FormatError", "WIDTH"]

WIDTH = 100  # longest condition kept on one line; longer ones are folded to lines of at most this much

_ORDER = {
    "policy_file": ("policy", "params", "definitions", "rules", "amend", "withdraw", "waivers"),
    "policy": ("id", "title", "version", "revises", "source", "effective_from", "effective_until", "applies_to",
               "reference_time", "notes"),
    "source": ("document", "reference", "url"),
    "param": ("type", "value", "values", "clause", "description"),  # the order most bundled files use
    "rule": ("id", "title", "clause", "severity", "depends_on", "when", "let", "require", "forbid", "message",
             "remedies", "reading", "tags"),
    "remedy": ("kind", "to", "description", "amount", "duration", "form", "when"),
    "waiver": ("id", "rules", "scope", "reason", "approved_by", "from", "until"),
    "test": ("name", "as_of", "case", "expect"),
}


class FormatError(PolicyError):
    """The file cannot be formatted (not YAML, or formatting would change its meaning)."""

    kind = "format"


class _Emitter(Emitter):
    """Double quotes wherever ruamel would use single quotes, unless the text holds a backslash or a double
    quote (a regular expression reads better without escapes)."""

    def choose_scalar_style(self) -> Any:
        style = super().choose_scalar_style()
        text = str(getattr(self.event, "value", ""))
        if style == "'" and "\\" not in text and '"' not in text and "\n" not in text:
            return '"'
        return style


class _Constructor(RoundTripConstructor):
    """ruamel.yaml's round-trip constructor, with a date it cannot build (``2020-02-30``) a located error
    rather than a ValueError from ``datetime``: the project reads such a value as text, and ``check``
    names it; fmt leaves the file as it is and says where."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except (ValueError, OverflowError) as exc:
            raise ConstructorError(None, None, f"not a valid date or time: {node.value!r} ({exc})",
                                   node.start_mark) from None


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.Constructor = _Constructor
    y.Emitter = _Emitter
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap text; conditions are folded here, on purpose
    y.indent(mapping=2, sequence=4, offset=2)
    y.brace_single_entry_mapping_in_flow_sequence = True
    # a null stays `null` (ruamel's round trip writes one inside a flow mapping as `!!null ""`)
    y.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def _reorder(node: Any, order: tuple[str, ...]) -> None:
    """Put a mapping's known keys in ``order`` (then the others, as they were), each key's comments with it.

    ruamel keeps the comment lines above a key with the value before it (in the comment slot of that value,
    or of the last value inside it when it is a block mapping or list): moved with the keys as they are, the
    lines above ``require`` would land above whatever key comes to follow the previous one. So each slot is
    split into the comment on the value's own line (which stays with it) and the full lines after it (which
    belong to the key that followed, or, after the last key, to what follows the mapping), and the lines are
    given back to the value that comes before their key in the new order."""
    if not isinstance(node, CommentedMap):
        return
    keys = list(node.keys())
    wanted = [k for k in order if k in node] + [k for k in keys if k not in order]
    if keys == wanted:
        return
    own: dict[Any, str] = {}  # the comment on each value's own line ("" none, "\n" a line without one)
    lead: dict[Any, str] = {}  # the full comment lines above each key but the first
    tail = ""  # the lines after the last value: they stay after the mapping
    block: dict[Any, bool] = {}  # a value ending in a block scalar (| or >): it ends its own line itself
    for i, k in enumerate(keys):
        slot = _slot(node, k)
        token = slot[3]
        text = token.value if token is not None else ""
        block[k] = isinstance(slot[0][slot[1]], (LiteralScalarString, FoldedScalarString))
        cut = 0 if block[k] else text.find("\n") + 1 if text else 0
        own[k], after = text[:cut], text[cut:]
        if i + 1 < len(keys):
            lead[keys[i + 1]] = after
        else:
            tail = after
    for i, k in enumerate(wanted):  # (written back before moving: the slots hold the values' own objects)
        after = lead.get(wanted[i + 1], "") if i + 1 < len(wanted) else tail
        _set_slot(_slot(node, k), own[k] or ("\n" if after and not block[k] else ""), after)
    items = [(k, node[k], node.ca.items.get(k)) for k in wanted]
    for k in keys:
        del node[k]
    for k, v, comment in items:
        node[k] = v
        if comment is not None:
            node.ca.items[k] = comment


def _slot(node: Any, key: Any) -> tuple[Any, Any, int, Any]:
    """(container, key, index, token) of the comment slot after ``node[key]``'s value: the slot of the last
    value inside it when it is a non-empty block mapping or list (where ruamel keeps the lines after it)."""
    while True:
        value = node[key]
        if isinstance(value, CommentedMap) and len(value) and not value.fa.flow_style():
            node, key = value, list(value.keys())[-1]
        elif isinstance(value, CommentedSeq) and len(value) and not value.fa.flow_style():
            node, key = value, len(value) - 1
        else:
            break
    index = 2 if isinstance(node, CommentedMap) else 0
    entry = node.ca.items.get(key)
    return node, key, index, entry[index] if entry is not None and len(entry) > index else None


def _set_slot(slot: tuple[Any, Any, int, Any], line: str, after: str) -> None:
    """Write a comment slot: the comment on the value's line (``line``) and the full lines after it."""
    node, key, index, token = slot
    text = line + after
    empty = not text or (text == "\n" and line == "\n")  # (a block scalar's "\n" is a blank line after it)
    if token is not None:
        if not empty:
            token.value = text
        else:
            node.ca.items[key][index] = None
        return
    if empty:
        return
    entry = node.ca.items.setdefault(key, [None, None, None, None])
    entry[index] = CommentToken(text, CommentMark(0), None)


def _pieces(toks: list[Any], text: str, lo: int, hi: int, depth: int) -> list[tuple[int, int]]:
    """Split text[lo:hi] before its 'and'/'or' (and 'then'/'else') at bracket depth ``depth``, then split any
    piece still longer than WIDTH one level deeper."""
    cuts = [lo]
    level = 0
    for t in toks:
        if not lo <= t.start_pos < hi:
            continue
        if t.type in ("LPAR", "LSQB"):
            level += 1
        elif t.type in ("RPAR", "RSQB"):
            level -= 1
        elif level == depth and t.type in ("AND", "OR", "THEN", "ELSE") and t.start_pos > lo:
            cuts.append(t.start_pos)
    spans = [(a, b) for a, b in zip(cuts, cuts[1:] + [hi], strict=True)]
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if b - a > WIDTH and depth < 8:
            out += _pieces(toks, text, a, b, depth + 1)
        else:
            out.append((a, b))
    return out


def _fold(text: str, column: int) -> Any:
    """A condition in canonical form: one line if it fits, else folded before 'and'/'or'/'then'/'else',
    outermost first."""
    toks = tokens(text)
    if toks is None or "\n" in text or len(text) + column <= WIDTH + 10 or any(t.type == "COMMENT" for t in toks):
        return text
    pieces = _pieces(toks, text, 0, len(text), 0)
    # join short neighbours greedily so that nothing is broken without need
    lines: list[tuple[int, int]] = []
    for a, b in pieces:
        if lines and b - lines[-1][0] <= WIDTH and _depth_at(toks, a) > 0:
            lines[-1] = (lines[-1][0], b)
        else:
            lines.append((a, b))
    if len(lines) < 2:
        return text
    out = FoldedScalarString(text)
    out.fold_pos = [a - 1 for a, _ in lines[1:]]
    return out


def _depth_at(toks: list[Any], pos: int) -> int:
    level = 0
    for t in toks:
        if t.start_pos >= pos:
            break
        level += t.type in ("LPAR", "LSQB")
        level -= t.type in ("RPAR", "RSQB")
    return level


def _condition(parent: Any, key: Any, column: int) -> None:
    value = parent[key]
    if not isinstance(value, str):
        return
    spaced = respace(str(value))
    if spaced is None:
        return  # does not lex: `check` reports it; fmt leaves it as written
    if "\n" in spaced:
        if spaced != str(value):
            parent[key] = type(value)(spaced) if type(value) is not str else spaced
        return
    new = _fold(spaced, column)
    if isinstance(new, FoldedScalarString) or spaced != str(value) or isinstance(value, FoldedScalarString):
        parent[key] = new


def _policy(doc: CommentedMap) -> None:
    _reorder(doc, _ORDER["policy_file"])
    meta = doc.get("policy")
    _reorder(meta, _ORDER["policy"])
    if isinstance(meta, CommentedMap):
        _reorder(meta.get("source"), _ORDER["source"])
        if "reference_time" in meta:
            _condition(meta, "reference_time", 18)
    params = doc.get("params")
    for spec in params.values() if isinstance(params, CommentedMap) else ():
        _reorder(spec, _ORDER["param"])
    for rule in [*(doc.get("rules") or []), *(doc.get("amend") or [])]:  # (an amendment: a rule's keys)
        if not isinstance(rule, CommentedMap):
            continue
        _reorder(rule, _ORDER["rule"])
        for key in ("when", "require", "forbid"):
            if key in rule:
                _condition(rule, key, 6)
        lets = rule.get("let")
        for name in list(lets) if isinstance(lets, CommentedMap) else ():
            _condition(lets, name, 8)
        for rem in rule.get("remedies") or []:
            _reorder(rem, _ORDER["remedy"])
            for key in ("amount", "when", "duration"):
                if isinstance(rem, CommentedMap) and key in rem:
                    _condition(rem, key, 10)
    for waiver in doc.get("waivers") or []:
        _reorder(waiver, _ORDER["waiver"])
        if isinstance(waiver, CommentedMap) and "scope" in waiver:
            _condition(waiver, "scope", 6)


def _tests(doc: CommentedMap) -> None:
    for test in doc.get("tests") or []:
        _reorder(test, _ORDER["test"])


def _meaning(text: str, file: str) -> Any:
    """What a file says, as the project loads it, with conditions reduced to their tokens."""
    data, _ = load_yaml(text, file)

    def norm(x: Any, condition: bool, in_let: bool) -> Any:
        if isinstance(x, dict):
            return {k: norm(v, in_let or k in EXPRESSION_KEYS, k == "let") for k, v in x.items()}
        if isinstance(x, list):
            return [norm(v, False, False) for v in x]
        if isinstance(x, str) and condition:
            toks = tokens(x)
            return tuple((t.type, str(t)) for t in toks) if toks is not None else x
        return x

    return norm(data, False, False)


def format_text(text: str, file: str = "<input>") -> str:
    """The canonical form of a policy or policy-test file (unchanged if it is neither)."""
    try:
        before = _meaning(text, file)
    except PolicyLoadError as exc:
        raise FormatError(exc.message, file=exc.file, line=exc.line, column=exc.column,
                          source_line=exc.source_line) from None
    y = _yaml()
    try:
        doc = y.load(text)
    except YAMLError as exc:  # a date ruamel.yaml cannot build; the safe loader above refuses the rest
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise FormatError(f"cannot format: {problem}", file=file, line=line, column=column) from None
    if not isinstance(doc, CommentedMap):
        return text
    if "policy" in doc:
        _policy(doc)
    elif isinstance(doc.get("tests"), CommentedSeq):
        _tests(doc)
    else:
        return text
    buf = io.StringIO()
    y.dump(doc, buf)
    out = align_comments(text, buf.getvalue())
    if out == text:  # already canonical (what `fmt --check` and an editor's format-on-save mostly meet)
        return out
    if _meaning(out, file) != before:
        raise FormatError("formatting would change what the file says; left as it is (please report this)",
                          file=file, line=1, column=1)
    dropped = lost(text, out)
    if dropped is not None:
        line, comment = dropped
        raise FormatError(f"formatting would drop the comment {comment!r} (the YAML round trip keeps no comment "
                          "inside [...] or {...}, nor between a key and its value on the next line); left as it "
                          "is: move the comment to a line of its own above the key", file=file, line=line,
                          column=text.splitlines()[line - 1].find("#") + 1)
    return out
