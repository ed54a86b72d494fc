"""A runaway case costs that case, never the server: serve's per-case CPU limit, and work stopped when the
client goes.

``policy-eval eval`` stops a record past ``--record-limit`` CPU seconds with a signal (run.runaway), which
Python delivers to the main thread only; the workbench evaluates in worker threads (the event loop keeps
answering), so ``serve --record-limit`` keeps the same limit another way. A request that evaluates runs its
work through ``web.app``'s ``bounded``: in a worker thread, with a :class:`Guard` that :func:`watched` (around each
case's evaluation: Workbench.evaluate, the impact's comparison) tells which case is being evaluated and since
when. Meanwhile the request's task looks, every quarter of the limit (at most every 0.25 s), at that thread's
CPU clock and at the connection: a case past the limit, or any case once the client has disconnected, gets an
exception raised into the worker thread (``PyThreadState_SetAsyncExc``) at its next bytecode, as the CLI's
watchdog raises into the main thread from its signal handler. Past the limit the case is a :class:`CaseStopped`
(the case page and /api/check show it as the case's error, a batch lists the record as rejected, an impact
answers 422 naming the case); a disconnected client's work ends with :class:`Gone` (answered 499, to nobody).

The exception is raised only while a case is being evaluated (under the guard's lock), and one still pending
when the case ends is dropped, so it never lands in the thread pool's own code; one that lands as the case's end
is being recorded is the case's, and the end is recorded again. An interrupt some code swallows (an ``except
BaseException`` in a plugin, a callback of the garbage collector) is raised again: a limit later for a case past
it, a tick later (:data:`TICK`) for a client gone. As with the watchdog, a single C call that never returns is
not interrupted (none in the bundled functions). Where the platform has no per-thread CPU clock, the limit is in
seconds of wall-clock time.
"""

from __future__ import annotations

import ctypes
import functools
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from policy_eval.web.inputs import CaseStopped

__all__ = ["Guard", "Gone", "CaseStopped", "watched", "stopped_result", "TICK"]

T = TypeVar("T")
P = ParamSpec("P")
TICK = 0.25  # at most this many seconds between two looks at the connection and the case's CPU time


class Gone(Exception):
    """The client disconnected while its request was being computed: the work was stopped."""


class _Interrupt(BaseException):
    """What is raised into the worker thread: a BaseException, so that no ``except Exception`` on the way (a
    plugin's, the evaluator's per-rule safety net) takes it for the case's error; :meth:`Guard.watch` turns it
    into CaseStopped or Gone."""


_GUARD: ContextVar[Guard | None] = ContextVar("policy_eval_web_guard", default=None)


def _raise_in(ident: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in the thread ``ident`` at its next bytecode; None drops one still pending there."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc) if exc else None)


def _cpu_clock(ident: int) -> int | None:
    """The CPU-time clock of the thread ``ident`` (the calling thread), or None where there is none."""
    try:
        return time.pthread_getcpuclockid(ident)
    except (AttributeError, OSError):
        return None


class Guard:
    """The limit of one request: ``seconds`` per case (None: no limit, only the stop on disconnect)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.gone = False
        self._lock = threading.Lock()
        self._ident: int | None = None  # the worker thread, while it evaluates a case
        self._clock: int | None = None  # its CPU clock (None: wall-clock time)
        self._due = 0.0  # the clock's reading past which the case is stopped
        self._told: float | None = None  # when the case was last told that the client is gone (time.monotonic)

    def message(self) -> str:
        unit = "s of CPU" if self._clock is not None else "s"
        return f"evaluation stopped: this case used more than {self.seconds:g} {unit} (serve --record-limit)"

    def _now(self) -> float:
        return time.clock_gettime(self._clock) if self._clock is not None else time.monotonic()

    # --- the worker thread ----------------------------------------------------------------------------------
    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` with this guard watching the cases it evaluates (:func:`watched`)."""
        token = _GUARD.set(self)
        try:
            return fn(*args)
        finally:
            _GUARD.reset(token)

    def watch(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn`` evaluating one case, stopped past the limit (CaseStopped) or when the client is gone (Gone)."""
        me = threading.get_ident()
        if self._ident == me:  # a case within a case: watched as the outer one
            return fn(*args, **kwargs)
        try:
            try:
                with self._lock:
                    if self.gone:
                        raise Gone("the client disconnected")
                    self._clock = _cpu_clock(me)
                    self._due = self._now() + (self.seconds or 0.0)
                    self._told = None
                    self._ident = me
                return fn(*args, **kwargs)
            finally:
                while True:  # (an interrupt raised as _end is entered, before its first line: the case's, done with)
                    try:
                        self._end(me)
                        break
                    except _Interrupt:
                        continue
        except _Interrupt:
            if self.gone:
                raise Gone("the client disconnected") from None
            raise CaseStopped(self.message()) from None

    def _end(self, me: int) -> None:
        """The case is over: nothing more is raised into this thread, and what is still pending is dropped. (An
        interrupt that lands while this runs is the case's: the caller catches it and calls this again.)"""
        with self._lock:
            if self._ident == me:
                self._ident = None
                _raise_in(me, None)

    # --- the request's task ---------------------------------------------------------------------------------
    def leave(self) -> None:
        """The client is gone: stop the case being evaluated, and every case after it."""
        self.gone = True
        self.tick()

    def tick(self) -> None:
        """Stop the case being evaluated if it is past the limit or the client is gone."""
        with self._lock:
            ident = self._ident
            if ident is None:
                return
            if self.gone:  # (told once a tick at most: one swallowed is told again, two at once never)
                now = time.monotonic()
                if self._told is not None and now - self._told < TICK:
                    return
                self._told = now
            elif self.seconds is None:
                return
            else:
                try:
                    if self._now() < self._due:
                        return
                except OSError:  # (its clock unreadable: the thread is evaluating, so this should not happen)
                    return
                self._due += self.seconds  # (an interrupt some code swallowed: told again a limit later)
            _raise_in(ident, _Interrupt)


def watched(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn`` evaluating one case, watched by the request's guard if there is one (else simply called)."""
    guard = _GUARD.get()
    if guard is None:
        return fn(*args, **kwargs)
    return guard.watch(fn, *args, **kwargs)


def stopped_result(method: Callable[P, dict[str, Any]]) -> Callable[P, dict[str, Any]]:
    """``Workbench.evaluate`` watched (:func:`watched`): a case stopped at the limit is a result whose error says
    so, as a case its schema refuses is (the case page shows it, a batch lists the record as rejected)."""
    @functools.wraps(method)
    def evaluate(*args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        if _GUARD.get() is None:
            return method(*args, **kwargs)
        try:
            return watched(method, *args, **kwargs)
        except CaseStopped as exc:
            return {"error": str(exc), "path": None, "verdicts": []}
    return evaluate
