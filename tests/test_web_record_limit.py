"""``serve`` bounds each case's evaluation (``--record-limit``, as ``eval``) and stops a request's work when its
client disconnects (web.limit).

Red team: a policy whose evaluation of one uploaded case took 256 s of server CPU; the client gave up after
400 s and the server went on computing. Nothing bounded a request: ``eval``'s per-record watchdog is a signal,
which reaches the main thread only, and the workbench evaluates in worker threads. Here the policy's sixteen
rules each walk every message of the case against a hundred words (900,000 items, under the budget of a
million: the case takes about 10 s of CPU unbounded, 25 s on the case page, which also computes what lies
ahead), and the limit is 0.2 s of CPU.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import io
import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import policytext as pt
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from policy_eval.web.app import create_app  # noqa: E402
from policy_eval.web.limit import TICK, CaseStopped, Gone, Guard, _Interrupt, watched  # noqa: E402
from policy_eval.web.workbench import Workbench  # noqa: E402

LIMIT = 1.0  # (a small case, its explanations compiled on first use, stays well under it on a loaded machine)
STOPPED = f"evaluation stopped: this case used more than {LIMIT:g} s of CPU (serve --record-limit)"
WORDS = json.dumps([f"w{i}" for i in range(100)])
RULES = 16
START = _dt.datetime(2024, 5, 20, 21, 0, tzinfo=_dt.timezone(_dt.timedelta(hours=8)))


def _case(n: int, case_id: str = "BIG") -> dict[str, Any]:
    messages = [{"id": f"m{i}", "sender": "buyer", "sent_at": (START + _dt.timedelta(seconds=i)).isoformat(),
                 "text": "t", "attachments": []} for i in range(n)]
    return {"kind": "chat", "case_id": case_id, "store_id": "S-1", "captured_at": "2024-05-21T21:30:00+08:00",
            "messages": messages}


BIG = json.dumps(_case(9_000))  # 900 kB
SMALL = json.dumps(_case(10, "SMALL"))


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    rules = [pt.rule(f"r{k}", f"not (any m in messages: any w in {WORDS}: m.text == w)") for k in range(RULES)]
    text = pt.policy(pt.rules_text(*rules), **pt.CHAT, id="slow", title="Slow", document="tests/test_web_record_limit.py")
    folder = pt.write(tmp_path_factory.mktemp("limit") / "policies" / "p.yaml", text).parent
    return folder, text


@pytest.fixture(scope="module")
def bench(policy: tuple[Path, str]) -> Workbench:
    return Workbench.open(policy[0])


@pytest.fixture()
def client(bench: Workbench) -> TestClient:
    return TestClient(create_app(bench, record_limit=LIMIT))


def test_a_runaway_case_is_stopped_at_the_limit_on_the_case_page(client: TestClient) -> None:
    start = time.monotonic()
    r = client.post("/case", data={"case": BIG})
    assert r.status_code == 422, r.text[:2000]
    assert STOPPED in r.text
    assert time.monotonic() - start < 10  # (unbounded: over 20 s of CPU)
    ok = client.post("/case", data={"case": SMALL})  # a case within the limit is evaluated as before
    assert ok.status_code == 200 and "COMPLIED" in ok.text and STOPPED not in ok.text, ok.text[-3000:]


def test_a_runaway_case_is_a_json_error_of_api_check(client: TestClient, policy: tuple[Path, str]) -> None:
    r = client.post("/api/check", json={"file": "p.yaml", "text": policy[1], "case": BIG})
    assert r.status_code == 200
    assert r.json()["errors"] == [] and r.json()["result"]["error"] == STOPPED
    ok = client.post("/api/check", json={"file": "p.yaml", "text": policy[1], "case": SMALL}).json()
    assert ok["result"]["error"] is None and ok["result"]["counts"] == {"complied": RULES}


def test_a_runaway_record_of_a_batch_is_rejected_and_the_others_are_evaluated(client: TestClient) -> None:
    upload = f"{SMALL}\n{BIG}\n{SMALL}\n".encode()
    r = client.post("/batch", files={"upload": ("cases.jsonl", upload, "application/x-ndjson")})
    assert r.status_code == 200
    assert "2 evaluated, 1 rejected, 0 violating." in r.text
    assert f"<li>line 2: {STOPPED}</li>" in r.text


def test_the_batch_core_in_a_guarded_thread(bench: Workbench) -> None:
    """The workbench core run as the app runs it: in a thread with a guard, looked at every quarter limit."""
    guard = Guard(LIMIT)
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.update(guard.run(bench.batch, f"{SMALL}\n{BIG}\n{SMALL}".encode())))
    thread.start()
    while thread.is_alive():
        guard.tick()
        thread.join(LIMIT / 4)
    assert out["evaluated"] == 2 and out["rejected"] == [{"line": 2, "error": STOPPED}]


def test_a_runaway_case_of_an_impact_corpus_is_a_422_naming_it(client: TestClient, policy: tuple[Path, str]) -> None:
    upload = f"{SMALL}\n{BIG}\n".encode()
    # (a revision: an impact of the text as it stands compares one rulebook twice and evaluates nothing)
    edited = policy[1].replace("title: Slow", "title: Slower", 1)
    assert edited != policy[1]
    r = client.post("/impact", data={"file": "p.yaml", "text": edited},
                    files={"corpus": ("corpus.jsonl", upload, "application/x-ndjson")})
    assert r.status_code == 422
    assert r.text == f"case 2 of the corpus: {STOPPED}"


def test_a_python_loop_that_never_returns_is_stopped() -> None:
    """What a budget cannot stop (a plugin's function that loops): the thread is interrupted all the same."""
    def spin() -> None:
        while True:
            pass

    guard = Guard(LIMIT)
    thread, out = _guarded(guard, spin)
    _tick_until_done(guard, thread, LIMIT / 4)
    assert not thread.is_alive() and str(out["raised"]) == STOPPED


def _guarded(guard: Guard, fn: Any) -> tuple[threading.Thread, dict[str, BaseException]]:
    """``fn`` run watched by ``guard`` in a thread of its own, started; what it raised lands in ``out["raised"]``."""
    out: dict[str, BaseException] = {}

    def work() -> None:
        try:
            guard.run(watched, fn)
        except (CaseStopped, Gone) as exc:
            out["raised"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, out


def _tick_until_done(guard: Guard, thread: threading.Thread, every: float) -> None:
    """The request's task: a look every ``every`` seconds until the thread ends (30 s at most)."""
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline:
        guard.tick()
        thread.join(every)


def test_a_swallowed_disconnect_is_told_again() -> None:
    """A case whose code swallows the interrupt (an ``except BaseException``, or a garbage collector's callback,
    as hypothesis installs one) is told again a tick later, not left to run its course once the client is gone."""
    swallowed: list[BaseException] = []

    def swallowing() -> None:
        while True:
            try:
                while True:
                    pass
            except BaseException as exc:  # noqa: BLE001 - what the test stands for
                if swallowed:
                    raise
                swallowed.append(exc)

    guard = Guard(None)
    thread, out = _guarded(guard, swallowing)
    while guard._ident is None and thread.is_alive():  # (the case under way)
        time.sleep(0.01)
    guard.leave()
    guard.tick()  # (the request's task looks again at once: told once a tick at most)
    _tick_until_done(guard, thread, TICK)
    assert not thread.is_alive(), "a swallowed interrupt left the case running after the client went"
    assert len(swallowed) == 1 and isinstance(out["raised"], Gone)
    assert guard._ident is None


def test_an_interrupt_as_the_case_ends_leaves_no_case_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt raised into the thread just as the guard records the case's end (at the call's first
    bytecode, before any line of it runs) is the case's: the end is recorded all the same, so nothing is ever
    raised into the thread pool's own code afterwards."""
    guard = Guard(LIMIT)
    end = Guard._end
    calls: list[int] = []

    def interrupted_once(self: Guard, me: int) -> None:
        calls.append(me)
        if len(calls) == 1:
            raise _Interrupt
        end(self, me)

    monkeypatch.setattr(Guard, "_end", interrupted_once)
    assert guard.run(watched, lambda: 42) == 42
    assert len(calls) == 2 and guard._ident is None


def test_work_stops_when_the_client_disconnects(bench: Workbench) -> None:
    """No limit at all (--record-limit none): the client sends the case and goes; the server's work on it stops
    at its next look at the connection instead of running its course (over 20 s of CPU)."""
    app = create_app(bench, record_limit=None)
    body = urlencode({"case": BIG}).encode()
    sent: list[dict[str, Any]] = []

    async def call() -> None:
        given = False

        async def receive() -> dict[str, Any]:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}  # (the client is gone once its request is sent)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/case", "raw_path": b"/case", "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded"),
                             (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
        await app(scope, receive, send)

    done = threading.Event()
    thread = threading.Thread(target=lambda: (asyncio.run(call()), done.set()), daemon=True)
    start = time.monotonic()
    thread.start()
    assert done.wait(10), "the work went on after the client disconnected"
    assert time.monotonic() - start < 10
    assert sent and sent[0]["status"] == 499


def test_serve_takes_the_record_limit(monkeypatch: pytest.MonkeyPatch, policy: tuple[Path, str]) -> None:
    import uvicorn

    import policy_eval.web.app as web_app
    from policy_eval.cli import run

    given: list[Any] = []
    monkeypatch.setattr(web_app, "create_app", lambda bench, **kw: given.append(kw["record_limit"]))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    for argv, limit in [([], 60.0), (["--record-limit", "0.5"], 0.5), (["--record-limit", "none"], None)]:
        out, err = io.StringIO(), io.StringIO()
        assert run(["serve", "-p", str(policy[0]), *argv], out, err) == 0, err.getvalue()
        assert given[-1] == limit
    out, err = io.StringIO(), io.StringIO()
    run(["serve", "--help"], out, err)
    assert "--record-limit SECONDS" in out.getvalue() and "(default 60; 'none': no" in out.getvalue()
