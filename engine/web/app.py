"""The workbench's HTTP face: a Starlette application over :class:`~policy_eval.web.workbench.Workbench`.

Pages are server-rendered Jinja2 templates with autoescaping on (a case's text can never become HTML);
one small script (static/workbench.js) checks an edited policy as the author types. Nothing here
evaluates anything itself: every answer comes from the workbench core, i.e. from the embedding API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from policy_eval.web.workbench import MAX_UPLOAD, Workbench, WorkbenchError

_CASE_ARGS = ("side", "edit_file", "edit_text")  # which rulebook a case page evaluates with (from an impact)

__all__ = ["create_app"]

HERE = Path(__file__).parent
FORMATS = ("jsonl", "json", "sarif", "junit", "text")


def create_app(bench: Workbench) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    batches: dict[str, bytes] = {}  # the last uploads, for the download links (bounded below)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("files", bench.files())
        context.setdefault("against", str(bench.against) if bench.against else None)
        return templates.TemplateResponse(request, name, context, status_code=status)

    async def _body(request: Request) -> bytes:
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_UPLOAD + 64 * 1024:
            raise WorkbenchError(f"the request is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_UPLOAD + 64 * 1024:
                raise WorkbenchError(f"the request is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
        request._body = data  # Starlette's own cache: form() and json() read it instead of the spent stream
        return data

    async def _form(request: Request) -> Any:
        await _body(request)  # enforce the size cap before parsing (Starlette caches the body)
        return await request.form(max_part_size=MAX_UPLOAD + 1)

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
        try:
            form = await _form(request)
            rulebook = {k: str(form.get(k, "")) for k in _CASE_ARGS if form.get(k)}
            uploaded = await _upload(form, "upload")
            text = uploaded.decode("utf-8") if uploaded is not None else str(form.get("case", ""))
            case = bench.parse_case(text)
            for key, value in form.multi_items():
                if key.startswith("fill:") and str(value).strip():
                    bench.fill(case, key[5:], str(value))
            text = json.dumps(case, ensure_ascii=False, indent=2)
            as_of = str(form.get("as_of", "")).strip()

            def run() -> dict[str, Any]:
                with bench.side(rulebook.get("side", ""), rulebook.get("edit_file", ""),
                                rulebook.get("edit_text", "")) as book:
                    return bench.evaluate(case, as_of or None, book)

            result = await run_in_threadpool(run)
            return page(request, "case.html", examples=bench.example_names(), text=text, example="",
                        as_of=as_of, result=result, error=result["error"], rulebook=rulebook,
                        status=422 if result["error"] else 200)
        except (WorkbenchError, ValueError) as exc:
            return page(request, "case.html", examples=bench.example_names(), text="", example="", as_of="",
                        result=None, error=str(exc), rulebook=rulebook, status=400)

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
            case = bench.parse_case(str(payload["case"])) if payload.get("case") else None
            as_of = str(payload.get("as_of") or "").strip() or None
            return JSONResponse(await run_in_threadpool(bench.check, payload["file"], payload["text"], case, as_of))
        except (WorkbenchError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    async def api_save(request: Request) -> Response:
        try:
            payload = await _json(request, "file", "text")
            out = await run_in_threadpool(bench.save, payload["file"], payload["text"])
            return JSONResponse(out, status_code=200 if out["saved"] else 422)
        except (WorkbenchError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

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
                corpus = str(form.get("corpus_name", "examples"))
                cases = bench.corpus(corpus)
                corpus = "the golden cases" if corpus == "golden" else "the examples"
            as_of = str(form.get("as_of", "")).strip()
            out = await run_in_threadpool(bench.impact, name, text, cases, as_of or None)
        except (WorkbenchError, ValueError) as exc:
            return PlainTextResponse(str(exc), status_code=413 if "larger" in str(exc) else 400)
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
            result = await run_in_threadpool(bench.batch, data, str(form.get("as_of", "")).strip() or None)
        except (WorkbenchError, ValueError) as exc:
            return page(request, "batch.html", result=None, error=str(exc), token=None, formats=FORMATS,
                        status=400 if "larger" not in str(exc) else 413)
        token = str(abs(hash(data)))
        batches[token] = data
        while len(batches) > 8:
            batches.pop(next(iter(batches)))
        return page(request, "batch.html", result=result, error=None, token=token, formats=FORMATS)

    async def batch_download(request: Request) -> Response:
        token, fmt = request.path_params["token"], request.query_params.get("format", "jsonl")
        if token not in batches or fmt not in FORMATS:
            return PlainTextResponse("no such batch or format", status_code=404)
        body = _report(bench, batches[token], fmt)
        return Response(body, media_type="application/octet-stream",
                        headers={"content-disposition": f'attachment; filename="findings.{fmt}"'})

    async def root(request: Request) -> Response:
        return RedirectResponse("/rulebook")

    routes = [
        Route("/", root), Route("/rulebook", rulebook),
        Route("/case", case_page, methods=["GET"]), Route("/case", case_run, methods=["POST"]),
        Route("/edit", edit_page), Route("/api/check", api_check, methods=["POST"]),
        Route("/api/save", api_save, methods=["POST"]), Route("/impact", impact, methods=["POST"]),
        Route("/batch", batch_page, methods=["GET"]), Route("/batch", batch_run, methods=["POST"]),
        Route("/batch/{token}/download", batch_download),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes)


def _report(bench: Workbench, data: bytes, fmt: str) -> bytes:
    """The findings of an uploaded batch in a reporter's format, produced by the CLI's own reporters."""
    import io

    from policy_eval.cli import run

    tmp_in = io.BytesIO(data)
    out, err = io.StringIO(), io.StringIO()
    argv = ["eval", "-p", str(bench.policies), "--format", fmt, "-"]
    if bench.params is not None:
        argv[1:1] = ["--params", str(bench.params)]
    run(argv, out, err, tmp_in)
    return out.getvalue().encode("utf-8")
