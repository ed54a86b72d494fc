"""Typed errors carrying a source location.

Every stage raises a subclass of :class:`PolicyError`. ``str(err)`` renders
``file:line:column: message`` followed by the source line and a caret, the
form editors and CI annotations understand.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PolicyError",
    "PolicyLoadError",
    "PolicySyntaxError",
    "PolicyTypeError",
    "PolicyNameError",
    "PolicyEvaluationError",
    "CaseError",
    "PluginError",
    "ErrorList",
    "printable",
    "snippet",
    "record_place",
    "record_line",
    "record_item",
    "clip",
    "shown_repr",
]


class PolicyError(Exception):
    """Base class: a message and where it applies (1-based line and column)."""

    kind = "error"
    # A fix an editor may offer as a quick fix: (the text written at the error's place, what to write instead),
    # set where the checker is sure of it: an unknown name, field or function close to a known one ("did you
    # mean"), a keyword misspelt or in capitals, another language's operator, a full-width character; else None.
    fix: tuple[str, str] | None = None

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
        end_column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.source_line = source_line
        self.end_column = end_column

    @property
    def location(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def relocate(self, *, file: str | None, line: int, column: int, source_line: str | None) -> PolicyError:
        """Return the same error placed at an absolute position in a file."""
        self.file, self.line, self.column, self.source_line = file, line, column, source_line
        return self

    def __str__(self) -> str:
        # printable(): a message may quote policy or case text; it must not forge a line of the report
        # (an error of no file and no line, a plugin's say, is its message alone: no "<input>:" before it)
        where = self.location if self.file is not None or self.line is not None else None
        text = printable(f"{where}: {self.message}" if where is not None else self.message)
        if self.source_line is not None and self.column is not None:
            line, column = snippet(self.source_line.rstrip("\n"), self.column)
            width = max(1, (self.end_column or self.column + 1) - self.column)
            # East Asian wide characters take two cells in a terminal.
            pad = "".join(" " * _cell_width(ch) if ch != "\t" else "\t" for ch in line[: column - 1])
            text += f"\n    {line}\n    {pad}{'^' * min(width, 80)}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }


SNIPPET_CHARS = 160

# Characters a terminal or a log reader would act on instead of showing: C0/C1 controls (newline, carriage
# return, ESC starting a terminal escape sequence), format characters (bidi overrides and isolates,
# zero-width joiners), line and paragraph separators, and lone surrogates.
_UNPRINTABLE = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs"))


def printable_char(ch: str) -> str:
    """``ch`` itself, or its Python escape (``\\x1b``, ``\\u202e``, ``\\n``) if it is unprintable."""
    import unicodedata

    if unicodedata.category(ch) in _UNPRINTABLE:
        return ch.encode("unicode_escape", "backslashreplace").decode("ascii")
    return ch


def printable(text: object, keep: str = "") -> str:
    """``text`` for one line of a report or a log: every unprintable character (see ``_UNPRINTABLE``) but
    those in ``keep`` written as its escape, so that data cannot start a line of its own, move the cursor,
    recolour the terminal or reorder what is shown. Backslashes themselves are left as they are."""
    text = str(text)
    if text.isprintable() and not keep:  # the common case: nothing to escape (isprintable is stricter)
        return text
    return "".join(ch if ch in keep else printable_char(ch) for ch in text)


def snippet(line: str, column: int) -> tuple[str, int]:
    """At most SNIPPET_CHARS characters of ``line`` around ``column``, unprintable characters escaped
    (:func:`printable`, tabs kept for the caret), and where ``column`` falls in it. An error never echoes
    more of a file than that: a policy "file" that is a link to /proc/self/environ is one long line of
    someone's secrets."""
    start = max(0, min(column - 1 - SNIPPET_CHARS // 2, len(line) - SNIPPET_CHARS))
    part = line[start:start + SNIPPET_CHARS]
    shown: list[str] = ["…"] if start else []
    at = len(shown) + 1
    for i, ch in enumerate(part):
        text = ch if ch == "\t" else printable_char(ch)
        if i < column - 1 - start:
            at += len(text)
        shown.append(text)
    if start + SNIPPET_CHARS < len(line):
        shown.append("…")
    return "".join(shown), at


def _cell_width(ch: str) -> int:
    import unicodedata

    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class PolicyLoadError(PolicyError):
    """The policy file is unreadable, unsafe, or does not match the policy schema."""

    kind = "load"


class PolicySyntaxError(PolicyError):
    """A condition does not parse."""

    kind = "syntax"


class PolicyTypeError(PolicyError):
    """A condition is ill-typed (e.g. money + duration)."""

    kind = "type"


class PolicyNameError(PolicyError):
    """A condition names an unknown field, parameter or function."""

    kind = "name"


class PolicyEvaluationError(PolicyError):
    """Evaluation of a condition failed on one case (reported on that case only)."""

    kind = "evaluation"


class PluginError(PolicyError):
    """A plugin could not be loaded or misbehaved."""

    kind = "plugin"


class CaseError(Exception):
    """A case record is malformed: names the record and the JSON path.

    A record breaking several rules of its case schema carries them all: ``errors`` lists each
    (``{"json_path", "message"}``, the first being ``json_path`` and ``message`` themselves) and ``omitted``
    says how many more were found but not listed."""

    def __init__(self, message: str, *, source: str | None = None, record: int | None = None,
                 json_path: str = "$", errors: list[dict[str, str]] | None = None, omitted: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.record = record
        self.json_path = json_path
        self.errors = errors or [{"json_path": json_path, "message": message}]
        self.omitted = omitted

    def __str__(self) -> str:
        return f"{record_place(self.source or '<input>', self.record)}: {self.at_path()}"

    def at_path(self) -> str:
        """The refusal named by its JSON path only (``$.claim.x: ...``), as the workbench shows it."""
        return f"{self.json_path}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"source": self.source, "record": self.record, "json_path": self.json_path,
                                  "message": self.message}
        if len(self.errors) > 1 or self.omitted:  # one error: json_path and message say it all, as ever
            out["errors"] = self.errors
            if self.omitted:
                out["errors_omitted"] = self.omitted
        return out


class ErrorList(PolicyError):
    """Several located errors found in one pass (the checker reports them all)."""

    kind = "multiple"

    def __init__(self, errors: list[PolicyError]) -> None:
        first = errors[0]
        super().__init__(f"{len(errors)} error(s)", file=first.file, line=first.line, column=first.column)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


# Where a record is. A record number is the line the record starts on (JSON Lines; the values of a JSON
# document that is not an array), or, for an item of a JSON array, the item's number: then it is a
# rulebook.cases.ArrayItem, an int that also carries ``line``, the line the item starts on.


def record_item(record: Any) -> int | None:
    """The item number of a record that is an item of a JSON array (an ``ArrayItem``), else None."""
    return int(record) if record is not None and getattr(record, "line", None) is not None else None


def record_line(record: Any) -> int | None:
    """The line a record starts on: an array item's ``line``, else the record number itself (None: the
    record stands for a whole input)."""
    line = getattr(record, "line", None)
    return line if line is not None else record


def record_place(source: str | None, record: Any) -> str:
    """Where a record is, unambiguously: ``file:LINE``, ``file:LINE [item N]`` for an item of a JSON array
    (the item number is the JSON outputs' ``record``), ``file`` for a whole input, ``#N`` with no source."""
    if not source:
        return f"#{record}"
    if record is None:
        return source
    item = record_item(record)
    return f"{source}:{record_line(record)}" + (f" [item {item}]" if item is not None else "")


def clip(text: str, limit: int = 80) -> str:
    """``text`` on one line, at most ``limit`` characters: cut at the last space before the limit and marked
    with ``…``, so that a quoted expression never ends in the middle of a name (``b.sent_a`` for ``b.sent_at``
    reads as a typo in the policy)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def shown_repr(value: Any, limit: int) -> str:
    """``repr(value)`` cut to ``limit`` characters (``f"{value!r:.80}"``), for a message about a value that may
    come from anywhere: an embedder's integer of more digits than Python turns into text
    (``sys.get_int_max_str_digits``), alone or inside a list, is named, not a ``ValueError`` of its own."""
    try:
        return repr(value)[:limit]
    except ValueError:
        return f"<{type(value).__name__} too large to show>"[:limit]
