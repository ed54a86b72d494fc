"""LSP features on pygls: each handler turns an outline fact into LSP types.

Input: LSP requests and notifications over stdio. Output: diagnostics (``textDocument/publishDiagnostics``
on open, change and save: the checker's errors, and lint's findings on open and save), quick fixes (code
actions), formatting (``fmt``'s), references, highlight and rename of parameters, definitions and lets,
semantic tokens (what each token of a condition is, for colouring), hover, completion (after ``.`` and ``"``),
definition, document symbols, code lenses, and the command ``policy-eval.evaluateRule`` (arguments: the
document URI, a rule id, and optionally a case object or a case file path; without one, the first example case
of the policy's kind found in an ``examples/`` folder above the policy; its answers and errors:
:mod:`.evaluating`).

The server notes the client's ``shutdown``: :func:`policy_eval.lsp.serve` returns the exit status from it.

A document is checked with the other versions of its policy in its folder (a revision against the version
it revises; overlapping periods), documents open in the editor as edited; the diagnostics are this
document's. On save, the other open versions of the policy are checked again too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from policy_eval import __version__
from policy_eval.authoring.editing import lint_findings
from policy_eval.authoring.findings import Finding
from policy_eval.authoring.outline import (
    Document,
    analyse,
    complete,
    definition,
    hover,
    inherited_definition,
    symbols,
)
from policy_eval.authoring.references import cannot_rename, defining_place, references, symbol_at
from policy_eval.authoring.renaming import RenameError, checked_rename
from policy_eval.errors import PolicyError
from policy_eval.lsp.editing import LEGEND, Linted, lint_diagnostics, quick_fixes, semantic_tokens, text_edits
from policy_eval.lsp.evaluating import evaluate_rule

__all__ = ["build_server", "EVALUATE"]

EVALUATE = "policy-eval.evaluateRule"
_REQUEST_FAILED = -32803  # LSP's error code for a request that is valid but cannot be carried out
_KINDS = {"field": types.CompletionItemKind.Field, "parameter": types.CompletionItemKind.Constant,
          "let": types.CompletionItemKind.Variable, "definition": types.CompletionItemKind.Variable,
          "function": types.CompletionItemKind.Function,
          "keyword": types.CompletionItemKind.Keyword, "value": types.CompletionItemKind.EnumMember}
_SYMBOLS = {"policy": types.SymbolKind.Module, "parameter": types.SymbolKind.Constant,
            "rule": types.SymbolKind.Function, "let": types.SymbolKind.Variable,
            "definition": types.SymbolKind.Variable}


class PolicyServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("policy-eval", __version__)
        self.docs: dict[str, Document] = {}  # the last analysis of each open document
        self.linted: dict[str, Linted] = {}  # each open document's lint findings, from its last open or save
        self._functions: Any = None
        self.shut_down = False  # the client asked for shutdown: its exit then ends the process with status 0

    def functions(self) -> Any:
        if self._functions is None:
            from policy_eval.plugin_manager import get_plugin_manager

            self._functions = get_plugin_manager().functions()
        return self._functions

    def analyse(self, uri: str) -> Document:
        text = self.workspace.get_text_document(uri).source
        path = Path(to_fs_path(uri) or uri)
        doc = analyse(path, text, self.functions(), open_texts=self.open_texts())
        if doc.data is not None or uri not in self.docs:
            self.docs[uri] = doc
        else:  # the YAML does not parse while typing: keep the last readable version for hover/completion
            old = self.docs[uri]
            self.docs[uri] = Document(doc.file, text, old.data, old.positions, old.case_schema, old.case_type,
                                      old.functions, doc.errors, None)
        return doc

    def open_texts(self) -> dict[str, str]:
        """The documents open in the editor: file path -> text (read before the files on disk)."""
        return {to_fs_path(u) or u: d.source for u, d in self.workspace.text_documents.items()}

    def publish(self, uri: str, lint: bool = False) -> None:
        """The document's diagnostics: its errors, and (``lint``: found again now) lint's findings."""
        doc = self.analyse(uri)
        if lint and (found := self.lint(doc)) is not None:
            self.linted[uri] = Linted(doc.lines, found)
        diagnostics = []
        for e in doc.errors:
            line, col = (e.line or 1) - 1, (e.column or 1) - 1
            end = (e.end_column - 1) if e.end_column and e.end_column > (e.column or 1) else col + _token_len(doc, line, col)
            diagnostics.append(types.Diagnostic(
                range=types.Range(start=self.to_client(doc, line, col), end=self.to_client(doc, line, end)),
                message=e.message, severity=types.DiagnosticSeverity.Error, source="policy-eval", code=e.kind))
        linted = self.linted.get(uri)
        if linted is not None and not doc.errors:
            diagnostics += lint_diagnostics(doc, linted.current(doc), self.to_client, _token_len)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    def lint(self, doc: Document) -> list[Finding] | None:
        """Lint's findings for a document that loads and reads as saved (lint reads its folder from disk); None
        for one that does not (the findings of its last lint stay, on the lines that still read as then)."""
        path = Path(doc.file)
        try:
            saved = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if doc.errors or doc.version is None or saved != doc.text:
            return None
        return lint_findings(path, self.functions())

    def loads_as(self, doc: Document) -> Callable[[str], bool]:
        """Whether another text of the document loads, with the other documents open as they are."""
        path = Path(doc.file)

        def loads(text: str) -> bool:
            return not analyse(path, text, self.functions(), open_texts={**self.open_texts(), str(path): text}).errors
        return loads

    def current(self, uri: str) -> Document:
        """The document's analysis, made again if the text changed since (a request may arrive first)."""
        doc = self.docs.get(uri)
        if doc is None or doc.text != self.workspace.get_text_document(uri).source:
            doc = self.analyse(uri)
        return doc

    def span(self, doc: Document, place: tuple[int, int, int]) -> types.Range:
        line, start, end = place
        return types.Range(start=self.to_client(doc, line, start), end=self.to_client(doc, line, end))

    def to_client(self, doc: Document, line: int, column: int) -> types.Position:
        """A position in code points (as the checker counts columns) in the client's units: UTF-16 unless the
        client chose another encoding (a character beyond the BMP, 𠮷 or 😀, is two UTF-16 units)."""
        return self.workspace.position_codec.position_to_client_units(
            doc.lines, types.Position(line=line, character=column))

    def from_client(self, doc: Document, position: types.Position) -> tuple[int, int]:
        """A client's position as (line, column in code points)."""
        at = self.workspace.position_codec.position_from_client_units(
            doc.lines, types.Position(line=position.line, character=position.character))
        return at.line, at.character

    def publish_versions_beside(self, uri: str) -> None:
        """Check again the other open documents of the same policy in the same folder (an edit here may
        end or make an overlap, or change what a revision inherits)."""
        doc = self.docs.get(uri)
        pid = doc.raw("policy", "id") if doc is not None else None
        if doc is None or pid is None:
            return
        for other, known in list(self.docs.items()):
            beside = known.raw("policy", "id") == pid and Path(known.file).parent == Path(doc.file).parent
            if other != uri and other in self.workspace.text_documents and beside:
                self.publish(other, lint=True)


def _token_len(doc: Document, line: int, col: int) -> int:
    """The length of the word at ``col``: a name, a dotted path, a rule id with dashes, a date or time (up to a
    space, YAML punctuation or a ``:`` that ends a key)."""
    text = doc.lines[line] if 0 <= line < len(doc.lines) else ""
    n = 0
    while col + n < len(text):
        c = text[col + n]
        if not (c.isalnum() or c in "_.-+:") or (c == ":" and text[col + n + 1:col + n + 2] in ("", " ")):
            break
        n += 1
    return max(n, 1)


def _range(start: int, end: int) -> types.Range:
    return types.Range(start=types.Position(line=start, character=0), end=types.Position(line=end, character=0))


def build_server() -> PolicyServer:
    server = PolicyServer()

    @server.feature(types.SHUTDOWN)
    def on_shutdown(ls: PolicyServer, params: None) -> None:
        ls.shut_down = True

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PolicyServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri, lint=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PolicyServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.docs.pop(params.text_document.uri, None)
        ls.linted.pop(params.text_document.uri, None)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PolicyServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: PolicyServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.publish(uri, lint=True)
        ls.publish_versions_beside(uri)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def on_code_action(ls: PolicyServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        doc = ls.current(uri)
        linted = ls.linted.get(uri)
        findings = linted.current(doc) if linted is not None and not doc.errors else []
        return quick_fixes(uri, doc, params.range, ls.to_client, findings, ls.loads_as(doc))

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def on_formatting(ls: PolicyServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        doc = Document(to_fs_path(uri) or uri, text)
        try:
            return text_edits(doc, ls.to_client)
        except PolicyError as exc:  # fmt refuses the file (it does not load, or formatting would lose a comment)
            ls.window_show_message(types.ShowMessageParams(
                type=types.MessageType.Warning, message=f"policy-eval fmt: {exc}".split("\n")[0]))
            return None

    @server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, LEGEND)
    def on_semantic_tokens(ls: PolicyServer, params: types.SemanticTokensParams) -> types.SemanticTokens:
        return semantic_tokens(ls.current(params.text_document.uri), ls.to_client)

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def on_references(ls: PolicyServer, params: types.ReferenceParams) -> list[types.Location] | None:
        uri = params.text_document.uri
        doc = ls.current(uri)
        symbol = symbol_at(doc, *ls.from_client(doc, params.position))
        if symbol is None:
            return None
        return [types.Location(uri=uri, range=ls.span(doc, place))
                for place in references(doc, symbol, params.context.include_declaration)]

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    def on_highlight(ls: PolicyServer, params: types.DocumentHighlightParams) -> list[types.DocumentHighlight] | None:
        doc = ls.current(params.text_document.uri)
        symbol = symbol_at(doc, *ls.from_client(doc, params.position))
        if symbol is None:
            return None
        key = defining_place(doc, symbol)  # (the key that defines it: "write"; each use: "read")
        return [types.DocumentHighlight(range=ls.span(doc, place), kind=types.DocumentHighlightKind.Write
                                        if place == key else types.DocumentHighlightKind.Read)
                for place in references(doc, symbol)]

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def on_prepare_rename(ls: PolicyServer, params: types.PrepareRenameParams) -> types.Range | None:
        doc = ls.current(params.text_document.uri)
        line, column = ls.from_client(doc, params.position)
        symbol = symbol_at(doc, line, column)
        if symbol is None:
            return None
        refused = cannot_rename(doc, symbol)
        if refused is not None:
            raise JsonRpcException(refused, code=_REQUEST_FAILED)
        place = next(p for p in references(doc, symbol) if p[0] == line and p[1] <= column <= p[2])
        return ls.span(doc, place)

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def on_rename(ls: PolicyServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
        uri = params.text_document.uri
        doc = ls.current(uri)
        try:
            edits = checked_rename(doc, *ls.from_client(doc, params.position), params.new_name, ls.functions(),
                                   ls.open_texts())
        except RenameError as exc:  # (the client shows why: LSP's RequestFailed)
            raise JsonRpcException(str(exc), code=_REQUEST_FAILED) from None
        return types.WorkspaceEdit(changes={uri: [types.TextEdit(range=ls.span(doc, place), new_text=new)
                                                  for place, new in edits]})

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: PolicyServer, params: types.HoverParams) -> types.Hover | None:
        doc = ls.docs.get(params.text_document.uri) or ls.analyse(params.text_document.uri)
        text = hover(doc, *ls.from_client(doc, params.position))
        if text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", '"']))
    def on_completion(ls: PolicyServer, params: types.CompletionParams) -> types.CompletionList:
        uri = params.text_document.uri
        doc = ls.docs.get(uri) or ls.analyse(uri)
        current = ls.workspace.get_text_document(uri).source
        if doc.text != current:  # completion may arrive before the change was analysed
            doc = Document(doc.file, current, doc.data, doc.positions, doc.case_schema, doc.case_type, doc.functions)
        items = [types.CompletionItem(label=i.label, kind=_KINDS.get(i.kind), detail=i.detail or None,
                                      documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=i.doc)
                                      if i.doc else None)
                 for i in complete(doc, *ls.from_client(doc, params.position))]
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: PolicyServer, params: types.DefinitionParams) -> types.Location | None:
        doc = ls.docs.get(params.text_document.uri) or ls.analyse(params.text_document.uri)
        at = definition(doc, *ls.from_client(doc, params.position))
        if at is None:  # (a name a revision inherits: defined in the version it revises, another file)
            elsewhere = inherited_definition(doc, *ls.from_client(doc, params.position))
            if elsewhere is None:
                return None
            file, line, column = elsewhere  # (a key's column: its indentation, the same in every unit)
            pos = types.Position(line=line, character=column)
            return types.Location(uri=Path(file).resolve().as_uri(), range=types.Range(start=pos, end=pos))
        pos = ls.to_client(doc, at[0], at[1])
        return types.Location(uri=params.text_document.uri, range=types.Range(start=pos, end=pos))

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def on_symbols(ls: PolicyServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        doc = ls.docs.get(params.text_document.uri) or ls.analyse(params.text_document.uri)
        return [types.DocumentSymbol(name=name, kind=_SYMBOLS[kind], range=_range(a, b), selection_range=_range(a, a),
                                     children=[types.DocumentSymbol(name=n, kind=_SYMBOLS[k], range=_range(x, y),
                                                                    selection_range=_range(x, x))
                                               for n, k, x, y in children])
                for name, kind, a, b, children in symbols(doc)]

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    def on_code_lens(ls: PolicyServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        uri = params.text_document.uri
        doc = ls.docs.get(uri) or ls.analyse(uri)
        return [types.CodeLens(range=_range(a, a), command=types.Command(
                    title=f"▶ evaluate {name} on an example case", command=EVALUATE, arguments=[uri, name]))
                for name, kind, a, _, _ in symbols(doc) if kind == "rule"]

    @server.command(EVALUATE)
    def on_evaluate(ls: PolicyServer, *args: Any) -> dict[str, Any]:
        if len(args) == 1 and isinstance(args[0], list):  # some clients pass the arguments as one list
            args = tuple(args[0])
        if not 2 <= len(args) <= 3 or not all(isinstance(a, str) for a in args[:2]):
            got = (f"{len(args)} argument{'s' if len(args) != 1 else ''}" if not 2 <= len(args) <= 3
                   else "a URI or rule id that is not text")
            return {"error": f"{EVALUATE} takes the document URI, a rule id and optionally a case (an object or "
                             f"a case file's path); got {got}"}
        uri, rule_id = args[0], args[1]
        try:
            doc = ls.docs.get(uri) or ls.analyse(uri)
        except OSError as exc:  # a document neither open nor readable
            return {"error": f"cannot read the policy {to_fs_path(uri) or uri}: {exc.strerror or exc}"}
        return evaluate_rule(doc, rule_id, args[2] if len(args) > 2 else None, ls.open_texts())

    return server
