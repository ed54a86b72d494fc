"""The workbench's HTTP face: a Starlette application over :class:`~policy_eval.web.workbench.Workbench`.

Pages are server-rendered Jinja2 templates with autoescaping on (a case's text can never become HTML);
one small script (static/workbench.js) checks an edited policy as the author types. Nothing here
evaluates anything itself: every answer comes from the workbench core, i.e. from the embedding API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from policy_eval.errors import CaseError
from policy_eval.rulebook.jsonrecord import parse_record
from policy_eval.run.runaway import DEFAULT_RECORD_LIMIT
from policy_eval.web.editing import formatted
from policy_eval.web.inputs import case_text, status, too_large
from policy_eval.web.limit import TICK, Gone, Guard
from policy_eval.web.workbench import MAX_UPLOAD, Workbench, WorkbenchError

_CASE_ARGS = ("side", "edit_file", "edit_text")  # which rulebook a case page evaluates with (from an impact)

__all__ = ["create_app"]

HERE = Path(__file__).parent
FORMATS = ("jsonl", "json", "sarif", "junit", "text")
T = TypeVar("T")


def create_app(bench: Workbench, *, record_limit: float | None = DEFAULT_RECORD_LIMIT) -> Starlette:
    """The application over ``bench``; ``record_limit``: CPU seconds each case's evaluation may take (``serve
    --record-limit``; None: no limit), past which it is stopped with an error (:mod:`policy_eval.web.limit`)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    batches: dict[str, bytes] = {}  # the last uploads, for the download links (bounded below)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("files", bench.files())
        context.setdefault("against", str(bench.against) if bench.against else None)
        context.setdefault("set_params", {})
        return templates.TemplateResponse(request, name, context, status_code=status)

    async def _body(request: Request) -> bytes:
        """The request's body; over the cap (an upload or document of MAX_UPLOAD and the form around it), a
        TooLarge (413), whichever endpoint it is."""
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_UPLOAD + 64 * 1024:
            raise too_large("the request")
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_UPLOAD + 64 * 1024:
                raise too_large("the request")
        request._body = data  # Starlette's own cache: form() and json() read it instead of the spent stream
        return data

    async def _form(request: Request) -> Any:
        await _body(request)  # enforce the size cap before parsing (Starlette caches the body)
        # no part can exceed the body's cap: a field over MAX_UPLOAD is refused (413) where it is read, never
        # by Starlette's part limit (a 400)
        return await request.form(max_part_size=MAX_UPLOAD + 64 * 1024 + 1)

    def _case_field(body: bytes, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The case of a /api/check request: ``case`` a string of JSON text, or the case itself as a JSON
        object; either is read as eval reads a case (the object from the request's own text: a key written
        twice or NaN in it is refused with the JSON path inside the case)."""
        given = payload.get("case")
        if given is None or given == "":
            return None
        if isinstance(given, str):
            return bench.parse_case(given)
        if not isinstance(given, dict):
            raise WorkbenchError("the field case must be the case (a JSON object) or a string holding its JSON text")
        exact = parse_record(body, "<request>", 1)
        if isinstance(exact, CaseError):
            inside = exact.json_path == "$.case" or exact.json_path.startswith(("$.case.", "$.case["))
            where = "$" + exact.json_path[len("$.case"):] if inside else f"the request: {exact.json_path}"
            raise WorkbenchError(f"{where}: {exact.message}")
        return dict(exact["case"])

    async def _json(request: Request, *fields: str) -> dict[str, Any]:
        """The request's JSON object, with ``fields`` present; anything else is a WorkbenchError (a 400)."""
        try:
            payload = json.loads(await _body(request))
        except json.JSONDecodeError as exc:
            raise WorkbenchError(f"the request is not valid JSON: line {exc.lineno}, column {exc.colno}: "
                                 f"{exc.msg}") from None
        if not isinstance(payload, dict):
            raise WorkbenchError("the request must be a JSON object with the fields " + ", ".join(fields))
        missing = [f for f in fields if f not in payload]
        if missing:
            raise WorkbenchError("the request is missing the field(s) " + ", ".join(missing))
        if not all(isinstance(payload[f], str) for f in fields):
            raise WorkbenchError("the field(s) " + ", ".join(fields) + " must be strings")
        return payload

    async def _upload(form: Any, name: str) -> bytes | None:
        """The bytes of an uploaded file field, or None when no file was chosen."""
        upload = form.get(name)
        if upload is None or isinstance(upload, str) or not getattr(upload, "filename", None):
            return None
        return bytes(await upload.read())

    async def rulebook(request: Request) -> Response:
        q = request.query_params.get("q", "")
        return page(request, "rulebook.html", policies=bench.rulebook(q), q=q)

    async def case_page(request: Request) -> Response:
        example = request.query_params.get("example", "")
        try:
            text = bench.example(example) if example else ""
        except WorkbenchError as exc:
            return page(request, "case.html", examples=bench.example_names(), text="", example="", as_of="",
                        result=None, error=str(exc), rulebook={}, status=404)
        return page(request, "case.html", examples=bench.example_names(), text=text, example=example,
                    as_of="", result=None, error=None, rulebook={})

    async def case_run(request: Request) -> Response:
        rulebook: dict[str, str] = {}
        text, as_of = "", ""
        carried: dict[tuple[str, str], str] = {}  # deployment parameters set by an earlier run of this page
        try:
            form = await _form(request)
            rulebook = {k: str(form.get(k, "")) for k in _CASE_ARGS if form.get(k)}
            as_of = str(form.get("as_of", "")).strip()
            uploaded = await _upload(form, "upload")
            given: str | bytes = uploaded if uploaded is not None else str(form.get("case", ""))
            text = given if isinstance(given, str) else given.decode("utf-8", errors="replace")
            case = bench.parse_case(given)
            # a missing value filled in: a case field goes into the case; a deployment parameter (params.*) is
            # set for the run, as --params sets it, and rides along (param:) in the page's forms
            filled = [(k, str(v)) for k, v in form.multi_items() if k.startswith(("param:", "fill:")) and str(v).strip()]
            for key, value in filled:
                if key.startswith("param:"):
                    bench.fill(case, key[len("param:"):], value, carried)
            params = dict(carried)
            for key, value in filled:
                if key.startswith("fill:"):
                    bench.fill(case, key[len("fill:"):], value, params)
            text = case_text(case, indent=2)

            def run() -> dict[str, Any]:
                with bench.side(rulebook.get("side", ""), rulebook.get("edit_file", ""),
                                rulebook.get("edit_text", ""), params) as book:
                    return bench.evaluate(case, as_of or None, book)

            result = await bounded(request, record_limit, run)
            return page(request, "case.html", examples=bench.example_names(), text=text, example="",
                        as_of=as_of, result=result, error=result["error"], rulebook=rulebook,
                        set_params=_shown(params), status=422 if result["error"] else 200)
        except (WorkbenchError, ValueError) as exc:
            return page(request, "case.html", examples=bench.example_names(), text=text, example="", as_of=as_of,
                        result=None, error=str(exc), rulebook=rulebook, set_params=_shown(carried),
                        status=status(exc))

    async def edit_page(request: Request) -> Response:
        files = bench.files()
        name = request.query_params.get("file") or (files[0] if files else "")
        try:
            text = bench.source(name)
        except WorkbenchError as exc:
            return PlainTextResponse(str(exc), status_code=404)
        return page(request, "edit.html", file=name, text=text, examples=bench.example_names())

    async def api_check(request: Request) -> Response:
        try:
            payload = await _json(request, "file", "text")
            case = _case_field(await request.body(), payload)
            as_of = str(payload.get("as_of") or "").strip() or None
            return JSONResponse(await bounded(request, record_limit, bench.check, payload["file"], payload["text"],
                                              case, as_of))
        except (WorkbenchError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=status(exc))

    async def api_save(request: Request) -> Response:
        try:
            payload = await _json(request, "file", "text")
            out = await run_in_threadpool(bench.save, payload["file"], payload["text"])
            return JSONResponse(out, status_code=200 if out["saved"] else 422)
        except (WorkbenchError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=status(exc))

    async def api_format(request: Request) -> Response:
        try:
            payload = await _json(request, "file", "text")
            if len(str(payload["text"]).encode("utf-8")) > MAX_UPLOAD:
                raise too_large("the edited file")
            bench.source(payload["file"])  # (a file of the served folder, else 404)
            out = await run_in_threadpool(formatted, payload["file"], str(payload["text"]))
            return JSONResponse(out, status_code=200 if out["error"] is None else 422)
        except (WorkbenchError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=status(exc))

    async def impact(request: Request) -> Response:
        try:
            form = await _form(request)
            missing = [f for f in ("file", "text") if f not in form]
            if missing:
                raise WorkbenchError("the form is missing the field(s) " + ", ".join(missing))
            name, text = str(form["file"]), str(form["text"])
            uploaded = await _upload(form, "corpus")
            refused: list[dict[str, Any]] = []
            if uploaded is not None:
                cases, refused = bench.parse_corpus(uploaded)
                corpus = f"the uploaded {form['corpus'].filename}"
            else:
                corpus = str(form.get("corpus_name") or "examples")
                cases, refused = bench.corpus_refused(corpus)  # an unknown name: a 400 naming the accepted ones
                if corpus == "golden":
                    corpus = "the golden cases"
                elif bench.examples is None or not bench.examples.is_dir():
                    corpus = "the examples (none: no examples folder)"
                else:  # (the folder as eval reads it: policy_eval.web.corpus)
                    corpus = (f"the examples (every case file of {_folder_shown(bench.examples)}, sub-folders included, as "
                              "eval reads it)")
            as_of = str(form.get("as_of", "")).strip()
            out = await bounded(request, record_limit, bench.impact, name, text, cases, as_of or None)
        except (WorkbenchError, ValueError) as exc:
            return PlainTextResponse(str(exc), status_code=status(exc))
        out["refused"] = refused
        return page(request, "impact.html", file=name, text=text, impact=out, corpus=corpus, as_of=as_of,
                    status=422 if out["errors"] else 200)

    async def batch_page(request: Request) -> Response:
        return page(request, "batch.html", result=None, error=None, token=None, formats=FORMATS)

    async def batch_run(request: Request) -> Response:
        try:
            form = await _form(request)
            uploaded = await _upload(form, "upload")
            if uploaded is None:
                raise WorkbenchError("choose a JSON Lines file to upload (the form has no file)")
            data = uploaded
            result = await bounded(request, record_limit, bench.batch, data, str(form.get("as_of", "")).strip() or None)
        except (WorkbenchError, ValueError) as exc:
            return page(request, "batch.html", result=None, error=str(exc), token=None, formats=FORMATS,
                        status=status(exc))
        token = str(abs(hash(data)))
        batches[token] = data
        while len(batches) > 8:
            batches.pop(next(iter(batches)))
        return page(request, "batch.html", result=result, error=None, token=token, formats=FORMATS)

    async def batch_download(request: Request) -> Response:
        token, fmt = request.path_params["token"], request.query_params.get("format", "jsonl")
        if token not in batches or fmt not in FORMATS:
            return PlainTextResponse("no such batch or format", status_code=404)
        body = _report(bench, batches[token], fmt, record_limit)
        return Response(body, media_type="application/octet-stream",
                        headers={"content-disposition": f'attachment; filename="findings.{fmt}"'})

    async def root(request: Request) -> Response:
        return RedirectResponse("/rulebook")

    routes = [
        Route("/", root), Route("/rulebook", rulebook),
        Route("/case", case_page, methods=["GET"]), Route("/case", case_run, methods=["POST"]),
        Route("/edit", edit_page), Route("/api/check", api_check, methods=["POST"]),
        Route("/api/save", api_save, methods=["POST"]), Route("/api/format", api_format, methods=["POST"]),
        Route("/impact", impact, methods=["POST"]),
        Route("/batch", batch_page, methods=["GET"]), Route("/batch", batch_run, methods=["POST"]),
        Route("/batch/{token}/download", batch_download),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={Gone: _gone})


async def bounded(request: Request, seconds: float | None, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread, each case it evaluates stopped past ``seconds`` of CPU, and all of it when
    the client disconnects (:class:`~policy_eval.web.limit.Gone`): meanwhile this task looks at the connection and
    at the case's CPU time every quarter of the limit, at most every :data:`~policy_eval.web.limit.TICK` s."""
    guard = Guard(seconds)
    tick = TICK if seconds is None else min(TICK, seconds / 4)
    outcome: list[tuple[bool, Any]] = []
    finished = anyio.Event()

    async def work() -> None:
        try:
            outcome.append((True, await run_in_threadpool(guard.run, fn, *args)))
        except Exception as exc:  # (raised below, in the request's task, once the thread is done)
            outcome.append((False, exc))
        finally:
            finished.set()

    async with anyio.create_task_group() as group:
        group.start_soon(work)
        try:
            while not finished.is_set():
                with anyio.move_on_after(tick):
                    await finished.wait()
                if not finished.is_set():
                    if await request.is_disconnected():
                        guard.leave()
                    guard.tick()
        finally:
            if not finished.is_set():  # (this task cancelled, the server stopping: so is the work)
                guard.leave()
    done, value = outcome[0]
    if not done:
        raise value
    return cast(T, value)


async def _gone(request: Request, exc: Exception) -> Response:
    """The client disconnected and its work was stopped: an answer nobody reads (nginx's "client closed")."""
    return PlainTextResponse("the client disconnected: the work was stopped", status_code=499)


def _shown(params: dict[tuple[str, str], str]) -> dict[str, str]:
    """The deployment parameters set on the case page, by the path the verdicts name them with."""
    return {f"params.{policy}.{name}": value for (policy, name), value in params.items()}


def _report(bench: Workbench, data: bytes, fmt: str, record_limit: float | None) -> bytes:
    """The findings of an uploaded batch in a reporter's format, produced by the CLI's own reporters (with the
    served --record-limit)."""
    import io

    from policy_eval.cli import run

    tmp_in = io.BytesIO(data)
    out, err = io.StringIO(), io.StringIO()
    argv = ["eval", "-p", str(bench.policies), "--format", fmt,
            "--record-limit", "none" if record_limit is None else repr(record_limit), "-"]
    if bench.params is not None:
        argv[1:1] = ["--params", str(bench.params)]
    run(argv, out, err, tmp_in)
    return out.getvalue().encode("utf-8")


def _folder_shown(folder: Path) -> str:
    """A folder as the page names it: relative to the working directory where it lies under it (``examples``),
    else by its name: no absolute path of the server's machine on the page."""
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return folder.name
