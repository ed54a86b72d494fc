"""Signals that land where an exception cannot go: inside an extension's initialisation, or in a ``__del__``.

CI saw ``eval`` go on for 10 s after a SIGINT sent while it started; sending SIGINT at random instants of the
start-up crashed it with SIGSEGV 3 times in 440: orjson's module initialisation imports modules of its own and
cannot take an exception raised in one of them (ijl/orjson#310).
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from policy_eval.cli.signals import Interrupted, Signals, held

# orjson imports uuid while it initialises; the hook sends SIGINT right then (deterministically, not by timing)
_INTERRUPT_ORJSON_INIT = textwrap.dedent("""\
    import builtins, os, signal, sys
    real = builtins.__import__
    def hook(name, *args, **kwargs):
        if name == "uuid" and "uuid" not in sys.modules:
            os.kill(os.getpid(), signal.SIGINT)
        return real(name, *args, **kwargs)
    assert "orjson" not in sys.modules and "uuid" not in sys.modules
    builtins.__import__ = hook
    sys.argv = ["policy-eval", "--version"]
    from policy_eval.cli import main
    main()
""")


def test_ctrl_c_while_orjson_initialises_ends_in_130_not_a_crash(tmp_path: Path) -> None:
    script = tmp_path / "interrupt.py"
    script.write_text(_INTERRUPT_ORJSON_INIT, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, (proc.returncode, proc.stderr[-1500:])
    assert "policy-eval: interrupted" in proc.stderr
    assert "policy-eval " not in proc.stdout  # interrupted before --version was answered


def test_held_signal_is_delivered_after_the_block() -> None:
    reached_end_of_block = False
    with pytest.raises(KeyboardInterrupt):
        with held(signal.SIGINT):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # bytecodes at which Python would run a handler
                pass
            reached_end_of_block = True
    assert reached_end_of_block
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _SignalsItselfInDel:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs here and raises Interrupted, which __del__ cannot pass on
            pass


def test_a_signal_whose_exception_was_lost_still_interrupts() -> None:
    signals = Signals()
    signals.install()
    try:
        hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None  # "Exception ignored in ..."
        try:
            _SignalsItselfInDel()
            gc.collect()
        finally:
            sys.unraisablehook = hook
        assert signals.fired
        with pytest.raises(Interrupted):
            signals.check()
        signals.enter()  # a critical section waits for its end, whatever the signal's exception became
        signals.check()
        with pytest.raises(Interrupted):
            signals.leave()
    finally:
        signals.restore()


def test_a_lost_interrupted_prints_no_exception_ignored() -> None:
    """CI: a signal during the wind-down of a --jobs 2 run landed in a WeakValueDictionary's callback; the run
    ended 130 as it should, but stderr held an "Exception ignored ... Interrupted" traceback after its message.
    While the handlers are installed, that Interrupted does not reach the unraisable hook (check() raises it
    again); any other unraisable exception still does, and the hook is put back."""
    seen: list[BaseException | None] = []
    before, sys.unraisablehook = sys.unraisablehook, lambda unraisable: seen.append(unraisable.exc_value)
    try:
        signals = Signals()
        signals.install()
        try:
            _SignalsItselfInDel()
            gc.collect()
            assert signals.fired
            with pytest.raises(Interrupted):
                signals.check()

            class _Fails:
                def __del__(self) -> None:
                    raise ValueError("not a signal")

            _Fails()
            gc.collect()
        finally:
            signals.restore()
        assert [type(e) for e in seen] == [ValueError]
        assert sys.unraisablehook is not signals.unraisable
    finally:
        sys.unraisablehook = before


def _signal_self(signum: int) -> None:
    os.kill(os.getpid(), signum)
    for _ in range(1000):  # the handler runs at one of these steps
        pass


def test_only_the_first_signal_raises_a_later_one_cannot_break_the_wind_down() -> None:
    """CI (fresh clone, --jobs 2, a second SIGTERM 5 ms after the first): the second one's handler ran between the
    batch's ``except Interrupted`` and the ``finally`` that holds signals, raised a new Interrupted there, and it
    escaped eval's handling: the report was dropped and stderr said "interrupted before any record was reported"
    although records had been written. After the first signal has raised, a later one is noted, never raised:
    neither at depth 0 (the steps of the wind-down no critical section covers) nor at the end of a section."""
    signals = Signals()
    signals.install()
    try:
        with pytest.raises(Interrupted):
            _signal_self(signal.SIGTERM)
        assert signals.fired
        _signal_self(signal.SIGTERM)  # the wind-down: not raised
        _signal_self(signal.SIGINT)
        assert signals.pending
        signals.enter()  # the wind-down's own critical section, never left in eval
        _signal_self(signal.SIGTERM)
    finally:
        signals.restore()


def test_a_held_first_signal_still_raises_once_its_section_ends() -> None:
    signals = Signals()
    signals.install()
    try:
        signals.enter()
        _signal_self(signal.SIGINT)  # held: a record's report is being written
        with pytest.raises(Interrupted):
            signals.leave()
        _signal_self(signal.SIGTERM)  # the run is ending: noted, not raised
        with pytest.raises(Interrupted):
            signals.check()  # (check() still says the run was interrupted, wherever it is asked)
    finally:
        signals.restore()
