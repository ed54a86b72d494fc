"""The values a version's rules read, as full detail records them: one generated function per path list.

Input: each rule's readers by path (``Rule.readers``; the paths into lists are not recorded). Output:
``inputs(case) -> (each rule's, ...)``: for each rule an :class:`~policy_eval.run.later.OwnInputs` equal to
:func:`policy_eval.run.explaining.case_inputs` of its own paths, keys in the same order (a path whose value is
missing, null, an object or an array is left out; a text is shown as its rule reads it, ``_typed_text``; any
other value read and shown as JSON, as it is when the reader refuses it): what a verdict records as its
``inputs``. Each path is read once for all the rules (with the first rule's reader of it) into one dict, the
version's union, which a full record lists (``run.later.recorded``); a rule's own dict is made from it only
when asked for (``inputs(case, True)`` gives the union alone: run.written). Each object on the way to several paths is looked up once, at the top, and each leaf is one
line (``tests/test_inputs.py`` holds them equal to the loops on the golden corpus and on cases with values of
every JSON type at every path). A timestamp is shown as the text it was read from when that text is its ISO
form (``lang.isotext.render_datetime``'s memory, which the parser fills: no ``isoformat`` per read).

The source comes from fixed templates; every key and reader is a name bound in the function's namespace
(``_k3``, ``_r2``), never text from a policy or a case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from policy_eval.lang.codecache import code_for
from policy_eval.lang.isotext import _DATETIME_TEXT
from policy_eval.lang.readers import ReadError, reader_for
from policy_eval.lang.timestamps import MEMO, parse_timestamp
from policy_eval.lang.types import DATETIME, STRING
from policy_eval.lang.values import ValueParseError, render_datetime, to_json
from policy_eval.run.later import OwnInputs
from policy_eval.run.shown import _typed_text

__all__ = ["compile_inputs", "Inputs", "own_paths"]

Inputs = Callable[..., Any]  # inputs(case) -> each rule's (a tuple); inputs(case, True) -> the version's union


def _shown(read: Callable[[Any], Any], value: Any) -> Any:
    """A value that is not text, as a rule reads it (shown as it is when the reader refuses it)."""
    try:
        return to_json(read(value))
    except ReadError:
        return to_json(value)


# a datetime's text as a rule reads it: the timestamp the case check parsed (lang.timestamps) in ISO form, which
# is what _typed_text(reader, text) gives (to_json of a datetime is its isoformat) without its cache of pairs
_DATETIME = reader_for(DATETIME)
_STRING = reader_for(STRING)


def own_paths(readers: list[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    """Each rule's recorded paths (its readers' outside lists, in order): an :class:`OwnInputs`' ``paths``."""
    return [tuple(p for p in rule if "[" not in p) for rule in readers]


def compile_inputs(readers: list[Mapping[str, Any]], name: str = "") -> Inputs:
    """One function reading a version's inputs from a case (see the module docstring); ``readers``: each
    rule's readers by path (``Rule.readers``), in the version's order. Paths into lists are not recorded."""
    own = own_paths(readers)
    union: dict[str, Any] = {}  # every rule's paths, in order of first appearance (each with its first reader)
    for rule, mine in zip(readers, own, strict=True):
        for p in mine:
            union.setdefault(p, rule[p])
    paths = [(p, tuple(p.split(".")), read) for p, read in union.items()]
    names: dict[str, Any] = {"_dict": dict, "_list": list, "_DL": (dict, list), "_typed": _typed_text, "_shown": _shown,
                             "_json": to_json, "_str": str, "isinstance": isinstance, "type": type,
                             "_ts": parse_timestamp, "_memo": MEMO.get, "_Bad": ValueParseError, "_known": _DATETIME_TEXT.get,
                             "_iso": render_datetime, "_new": object.__new__, "_Own": OwnInputs, "id": id}
    keys: dict[str, str] = {}  # a key's text -> its constant's name

    def key(text: str) -> str:
        if text not in keys:
            keys[text] = f"_k{len(keys)}"
            names[keys[text]] = text
        return keys[text]

    objects: dict[tuple[str, ...], str] = {(): "c"}  # a prefix of keys -> the local holding its object (or None)
    top: list[str] = []

    def obj(prefix: tuple[str, ...]) -> str:
        """The local holding the object at ``prefix``: a dict, or None when anything else is there."""
        if prefix not in objects:
            parent = obj(prefix[:-1])
            local = f"_o{len(objects)}"
            top.append(f"    {local} = {parent}.get({key(prefix[-1])}) if {parent} is not None else None")
            top.append(f"    if type({local}) is not _dict:")
            top.append(f"        {local} = None")
            objects[prefix] = local
        return objects[prefix]

    body: list[str] = []
    for i, (path, parts, read) in enumerate(paths):
        holder = obj(tuple(parts[:-1]))
        names[f"_p{i}"] = path
        body.append(f"    v = {holder}.get({key(parts[-1])}) if {holder} is not None else None")
        body.append("    if v is not None and not isinstance(v, _DL):")
        if read is None:
            body.append(f"        u[_p{i}] = _json(v)")
        elif read is _DATETIME:
            names[f"_r{i}"] = read
            # (lang.timestamps.read_timestamp inline: the memo the case check filled, then the parser)
            body += ["        if type(v) is _str:", "            t = _memo(v)", "            if t is None:",
                     "                try:", "                    t = _ts(v)", "                except _Bad:",
                     "                    t = None", "            if t is None:", f"                u[_p{i}] = v",
                     "            else:", "                h = _known(id(t))",
                     f"                u[_p{i}] = h[1] if h is not None and h[0] is t else _iso(t)",
                     "        else:", f"            u[_p{i}] = _shown(_r{i}, v)"]
        elif read is _STRING:  # (a text read as a string is itself: what _typed gives, without its two calls)
            names[f"_r{i}"] = read
            body.append(f"        u[_p{i}] = v if type(v) is _str else _shown(_r{i}, v)")
        else:
            names[f"_r{i}"] = read
            body.append(f"        u[_p{i}] = _typed(_r{i}, v) if type(v) is _str else _shown(_r{i}, v)")
    rest = len(body)
    for j, mine in enumerate(own):
        names[f"_P{j}"] = mine
        body += [f"    r{j} = _new(_Own)", f"    r{j}.union = u", f"    r{j}.paths = _P{j}", f"    r{j}._own = None"]
    rules = "".join(f"r{j}, " for j in range(len(own)))
    # (bare: the union alone, for run.written, which makes a rule's own view only when a verdict is made)
    lines = ["def inputs(c, bare=False):", "    if type(c) is not _dict:",
             "        return (" + "".join("{}, " for _ in own) + ")", *top, "    u = {}", *body[:rest],
             "    if bare:", "        return u", *body[rest:], f"    return ({rules})", ""]
    namespace: dict[str, Any] = {"__builtins__": {}, **names}
    exec(code_for("\n".join(lines), f"<policy-eval inputs {name}>"), namespace)  # noqa: S102
    made: Inputs = namespace["inputs"]
    return made
