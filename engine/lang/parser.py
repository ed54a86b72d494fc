"""Parse condition text into the typed AST (:mod:`policy_eval.lang.ast`).

Input: the text of one condition. Output: an :class:`~policy_eval.lang.ast.Node`
tree with spans, or a :class:`~policy_eval.errors.PolicySyntaxError` whose
line and column are relative to the text (the loader offsets them into the
policy file). Size and nesting are bounded before any recursive walk.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from decimal import Decimal
from functools import lru_cache

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from policy_eval.errors import PolicyError, PolicySyntaxError
from policy_eval.lang import ast
from policy_eval.lang.currencies import unknown_currency
from policy_eval.lang.values import Money, ValueParseError, parse_date, parse_datetime, parse_duration

__all__ = ["parse", "comment_spans", "one_line", "KEYWORDS", "MAX_EXPRESSION_CHARS", "MAX_DEPTH"]

MAX_EXPRESSION_CHARS = 20_000
MAX_DEPTH = 200

# The language's keywords, in the order an error lists them as expected (grammar.lark: whole words only).
KEYWORDS = ("and", "or", "not", "in", "then", "else", "if", "true", "false", "null")
_TOKEN_NAMES = {
    "RPAR": "')'", "LPAR": "'('", "RSQB": "']'", "LSQB": "'['", "COMMA": "','", "COLON": "':'",
    "DOT": "'.'", "NAME": "a name", "INT": "an integer", "DECIMAL": "a decimal", "STRING": "a string",
    "COMPARE": "a comparison", "ADD": "'+' or '-'", "MUL": "'*' or '/'", "MINUS": "'-'",
    "DATETIME": "a datetime", "DATE": "a date", "DURATION": "a duration", "MONEY": "a money amount",
    "YEN": "a money amount", "QUANTIFIER": "any/all/count/sum", "$END": "end of expression",
}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark.open("grammar.lark", rel_to=__file__, parser="lalr", propagate_positions=True,
                     maybe_placeholders=False)


def comment_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) character indexes of each ``#`` comment of an expression that parses, found by the
    grammar's own lexer (a ``#`` inside a string is no comment)."""
    return [(tok.start_pos or 0, tok.end_pos or 0) for tok in _lark().lex(text, dont_ignore=True)
            if tok.type == "COMMENT"]


def one_line(text: str) -> str:
    """An expression's text on one line, as a reason quotes it: its comments left out and each line break
    with the indentation around it one space (a string holds no line break; the spaces inside one are kept)."""
    if "#" in text:
        try:
            spans = comment_spans(text)
        except UnexpectedInput:
            spans = []
        for start, end in reversed(spans):
            text = text[:start] + text[end:]
    return _LINE_BREAK.sub(" ", text.strip())


_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|\r|\n)\s*")


def _span_of(meta_or_tok: object) -> ast.Span:
    m = meta_or_tok
    return ast.Span(
        getattr(m, "line", 1) or 1, getattr(m, "column", 1) or 1,
        getattr(m, "end_line", 1) or 1, getattr(m, "end_column", 1) or 1,
        getattr(m, "start_pos", 0) or 0, getattr(m, "end_pos", 0) or 0,
    )


_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "/": "/"}


def _unescape(tok: Token) -> str:
    body = tok.value[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2: i + 6]):
            out.append(chr(int(body[i + 2: i + 6], 16)))
            i += 6
        else:
            raise PolicySyntaxError(f"unknown escape '\\{nxt}' in string", line=tok.line,
                                    column=(tok.column or 1) + i + 1)
    return "".join(out)


@v_args(meta=True, inline=True)
class _ToAst(Transformer[Token, ast.Node]):
    def _lit(self, tok: Token, kind: str, value: object) -> ast.Literal:
        return ast.Literal(_span_of(tok), kind, value)

    def _guard(self, tok: Token, kind: str, fn: object) -> ast.Literal:
        try:
            return self._lit(tok, kind, fn(tok.value))  # type: ignore[operator]
        except (ValueParseError, ValueError) as exc:
            raise PolicySyntaxError(f"invalid {kind} literal {tok.value!r}: {exc}", line=tok.line,
                                    column=tok.column, end_column=tok.end_column) from None

    def datetime(self, meta: object, tok: Token) -> ast.Literal:
        return self._guard(tok, "datetime", parse_datetime)

    def date(self, meta: object, tok: Token) -> ast.Literal:
        return self._guard(tok, "date", parse_date)

    def money(self, meta: object, tok: Token) -> ast.Literal:
        m = re.fullmatch(r"(\d+(?:\.\d+)?) ?([A-Z]{3})", tok.value)
        assert m is not None
        wrong = unknown_currency(m.group(2))
        if wrong is not None:  # no case's money is in it: every comparison would be undetermined
            column = (tok.column or 1) + m.start(2)
            raise PolicySyntaxError(wrong, line=tok.line, column=column, end_column=column + 3)
        return self._lit(tok, "money", Money(Decimal(m.group(1)), m.group(2)))

    def yen(self, meta: object, tok: Token) -> ast.Literal:
        return self._lit(tok, "money", Money(Decimal(tok.value[1:].strip()), "CNY"))

    def duration(self, meta: object, tok: Token) -> ast.Literal:
        return self._guard(tok, "duration", parse_duration)

    def decimal(self, meta: object, tok: Token) -> ast.Literal:
        return self._lit(tok, "decimal", Decimal(tok.value))

    def int(self, meta: object, tok: Token) -> ast.Literal:
        if len(tok.value) > 40:
            raise PolicySyntaxError("integer literal too long (at most 40 digits)", line=tok.line,
                                    column=tok.column)
        return self._lit(tok, "int", int(tok.value))

    def string(self, meta: object, tok: Token) -> ast.Literal:
        return self._lit(tok, "string", _unescape(tok))

    def true(self, meta: object) -> ast.Literal:
        return ast.Literal(_span_of(meta), "bool", True)

    def false(self, meta: object) -> ast.Literal:
        return ast.Literal(_span_of(meta), "bool", False)

    def null(self, meta: object) -> ast.Literal:
        return ast.Literal(_span_of(meta), "null", None)

    def name(self, meta: object, tok: Token) -> ast.Name:
        return ast.Name(_span_of(tok), str(tok.value))

    def list(self, meta: object, *items: ast.Node) -> ast.ListLit:
        return ast.ListLit(_span_of(meta), tuple(i for i in items if i is not None))

    def attr(self, meta: object, obj: ast.Node, name: Token) -> ast.Attr:
        return ast.Attr(_span_of(meta), obj, str(name))

    def index(self, meta: object, obj: ast.Node, idx: ast.Node) -> ast.Index:
        return ast.Index(_span_of(meta), obj, idx)

    def call(self, meta: object, name: Token, *args: ast.Node) -> ast.Call:
        return ast.Call(_span_of(meta), str(name), tuple(a for a in args if a is not None))

    def neg(self, meta: object, operand: ast.Node) -> ast.Unary:
        return ast.Unary(_span_of(meta), "-", operand)

    def not_(self, meta: object, operand: ast.Node) -> ast.Unary:
        return ast.Unary(_span_of(meta), "not", operand)

    def binary(self, meta: object, left: ast.Node, op: Token, right: ast.Node) -> ast.Binary:
        return ast.Binary(_span_of(meta), str(op), left, right)

    def compare(self, meta: object, left: ast.Node, op: Token, right: ast.Node) -> ast.Binary:
        return ast.Binary(_span_of(meta), str(op), left, right)

    def in_(self, meta: object, left: ast.Node, right: ast.Node) -> ast.Binary:
        return ast.Binary(_span_of(meta), "in", left, right)

    def not_in(self, meta: object, left: ast.Node, right: ast.Node) -> ast.Binary:
        return ast.Binary(_span_of(meta), "notin", left, right)

    def and_(self, meta: object, left: ast.Node, right: ast.Node) -> ast.Binary:
        return ast.Binary(_span_of(meta), "and", left, right)

    def or_(self, meta: object, left: ast.Node, right: ast.Node) -> ast.Binary:
        return ast.Binary(_span_of(meta), "or", left, right)

    def cond(self, meta: object, test: ast.Node, then: ast.Node, other: ast.Node) -> ast.Cond:
        return ast.Cond(_span_of(meta), test, then, other)

    def quant(self, meta: object, kind: Token, var: Token, coll: ast.Node, body: ast.Node) -> ast.Quant:
        return ast.Quant(_span_of(meta), str(kind), str(var), coll, body)


def _depth(tree: Tree[Token]) -> int:
    """Depth of a Lark tree, computed without recursion."""
    deepest = 0
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(node, Tree):
            stack.extend((c, d + 1) for c in node.children)
    return deepest


def _too_deep(text: str, limit: int) -> int | None:
    """Offset of the first bracket nested deeper than ``limit`` (brackets in strings do not count)."""
    depth = 0
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote or ch == "\n":
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
            if depth > limit:
                return i
        elif ch in ")]":
            depth -= 1
    return None


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# Full-width punctuation (a Chinese input method's) and the ASCII the language means by it.
_FULL_WIDTH = {"（": "(", "）": ")", "＞": ">", "＜": "<", "＝": "=", "！": "!", "，": ",", "、": ",", "“": '"',
               "”": '"', "‘": "'", "’": "'", "：": ":", "［": "[", "］": "]", "＋": "+", "－": "-", "＊": "*",
               "／": "/", "．": "."}


_BEFORE_EQUALS = tuple("<>!=＜＞！＝")  # (a '＝' after one of these completes a comparison: '<＝')

# Operators of other languages (SQL, C, JavaScript, Excel) and the ones this language writes instead.
_OTHER_LANGUAGES = {"=": "a comparison is written '=='", "&&": "write 'and'", "||": "write 'or'",
                    "&": "write 'and'", "|": "write 'or'", "!": "write 'not' (or '!=' for not equal)"}
_WRITTEN = {"=": "==", "&&": "and", "||": "or", "&": "and", "|": "or"}  # the fixes that are certain ('!' is not)


_NUMBER_THEN = re.compile(r"([0-9][0-9_]*(?:\.[0-9]+)?)([^\x00-\x7f])")  # a number and a non-ASCII character


def _describe(exc: UnexpectedInput, text: str) -> tuple[str, tuple[str, str] | None]:
    """The error's message, and its fix where one is certain: (the text at the error's place, what to write
    instead), which the language server offers as a quick fix (a full-width character, another language's
    operator, a keyword misspelt or in capitals)."""
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        ch = text[pos] if pos < len(text) else ""
        if ch in _FULL_WIDTH:
            ascii_ = _FULL_WIDTH[ch]
            if ch == "＝" and text[pos + 1:pos + 2] not in ("=", "＝") and text[pos - 1:pos] not in _BEFORE_EQUALS:
                ascii_ = "=="  # a comparison, one '=' short
            return f"unexpected character {ch!r}: a full-width character; write the ASCII {ascii_!r}", (ch, ascii_)
        op = text[pos:pos + 2] if text[pos:pos + 2] in _OTHER_LANGUAGES else ch
        if op in _OTHER_LANGUAGES:
            certain = op in _WRITTEN and not (op == "=" and text[pos + 1:pos + 2] in ("<", ">", "!"))  # ('=<': '<='?)
            return f"unexpected {op!r}: {_OTHER_LANGUAGES[op]}", (op, _WRITTEN[op]) if certain else None
        end = text.find("\n", pos)
        if ch in "\"'" and ch not in text[pos + 1:end if end >= 0 else len(text)]:
            return f"unclosed string: the {ch} here has no closing {ch} on its line", None
        if ch.isdigit() and (m := _NUMBER_THEN.match(text, pos)) is not None:  # '72小时': no number ends in a letter
            return f"unexpected character {m.group(2)!r} right after the number {m.group(1)}", None
        return f"unexpected character {ch!r}", None
    if isinstance(exc, UnexpectedEOF):
        return "unexpected end of expression", None
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            got = "end of expression"
        else:
            got = repr(tok.value)
        words = [w for w in KEYWORDS if f"_{w.upper()}" in exc.expected]  # the keywords that could come here
        expected = [repr(w) for w in words] + sorted(
            {_TOKEN_NAMES.get(e, repr(e.lstrip("_").lower()) if e.isupper() else e) for e in exc.expected
             if e.lstrip("_").lower() not in words})
        if tok.type == "COMPARE" and "COMPARE" not in exc.expected:
            return f"unexpected {got}: comparisons do not chain; write `a < b and b < c`", None
        if tok.type == "NAME" and words:  # a word where an operator belongs: a keyword misspelt?
            if tok.value.lower() in KEYWORDS:
                return (f"unexpected {got}: keywords are written in lower case; write {tok.value.lower()!r}",
                        (tok.value, tok.value.lower()))
            close = difflib.get_close_matches(tok.value, words, n=1, cutoff=0.6)
            if close:
                return f"unexpected {got}; did you mean {close[0]!r}?", (tok.value, close[0])
        hint = f"; expected {', '.join(expected[:6])}" if expected else ""
        return f"unexpected {got}{hint}", None
    return str(exc), None


# Parsed conditions by text: a process that loads policies again (the language server, the workbench, watch
# mode, a test suite) parses each condition once. The syntax tree is immutable (frozen dataclasses), so one
# tree can serve every load; errors are not kept. Bounded: the oldest entry goes first.
_PARSED: dict[str, ast.Node] = {}
MAX_PARSED = 8192


def parse(text: str) -> ast.Node:
    """Parse one condition; raise PolicySyntaxError with a position on failure."""
    known = _PARSED.get(text) if type(text) is str else None
    if known is not None:
        return known
    node = _parse(text)
    if len(_PARSED) >= MAX_PARSED:
        try:
            _PARSED.pop(next(iter(_PARSED)), None)
        except (RuntimeError, StopIteration):  # another thread changed it meanwhile: no matter
            pass
    _PARSED[text] = node
    return node


def _parse(text: str) -> ast.Node:
    if not isinstance(text, str):
        raise PolicySyntaxError(f"a condition must be text, not {type(text).__name__}", line=1, column=1)
    if len(text) > MAX_EXPRESSION_CHARS:
        raise PolicySyntaxError(f"condition too long ({len(text)} characters; at most {MAX_EXPRESSION_CHARS})",
                                line=1, column=1)
    if not text.strip():
        raise PolicySyntaxError("empty condition", line=1, column=1)
    too_deep = _too_deep(text, MAX_DEPTH // 2)
    if too_deep is not None:
        line, column = _position(text, too_deep)
        raise PolicySyntaxError(f"condition nested too deeply (more than {MAX_DEPTH // 2} brackets)",
                                line=line, column=column)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        line = getattr(exc, "line", 1)
        column = getattr(exc, "column", 1)
        if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        if not isinstance(line, int) or line < 1:
            line, column = 1, 1
        message, fix = _describe(exc, text)
        error = PolicySyntaxError(message, line=line, column=column)
        error.fix = fix
        raise error from None
    if isinstance(tree, Tree) and _depth(tree) > MAX_DEPTH:
        raise PolicySyntaxError(f"condition nested too deeply (more than {MAX_DEPTH} levels)", line=1, column=1)
    try:
        result = _ToAst().transform(tree) if isinstance(tree, Tree) else _ToAst().transform(Tree("x", [tree]))
    except VisitError as exc:
        if isinstance(exc.orig_exc, PolicyError):
            raise exc.orig_exc from None
        raise
    if isinstance(result, Token):  # pragma: no cover - the start rule always yields a node
        raise PolicySyntaxError("not an expression", line=1, column=1)
    return result


_ = _dt  # datetime is re-exported for literal types in type hints of callers
