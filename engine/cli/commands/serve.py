"""``policy-eval serve``: the browser workbench on a local port (needs the ``web`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers
from policy_eval.run.runaway import DEFAULT_RECORD_LIMIT

MISSING = ("policy-eval serve needs the web extra: pip install 'policy-eval[web]' "
           "(Starlette, uvicorn, Jinja2, python-multipart)")


def register(sub: Subparsers) -> argparse.ArgumentParser:
    s = sub.add_parser("serve", help="browser workbench: rulebook, try a case, edit a rule, impact, batch",
                       description="Start the local web workbench. It serves only the policy folder it is given "
                                   "and binds to 127.0.0.1 unless --host says otherwise.")
    s.add_argument("-p", "--policies", metavar="DIR", help="policy folder (default: the bundled rulebook)")
    s.add_argument("--params", metavar="FILE", help="deployment parameters overlay")
    s.add_argument("--examples", metavar="DIR", default="examples",
                   help="folder of example cases (*.json) to offer (default: ./examples when present)")
    s.add_argument("--against", metavar="DIR",
                   help="a second policy folder: the impact page compares it (before) with the served "
                        "rulebook and its edits (after)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    s.add_argument("--record-limit", type=options.seconds_or_none, default=DEFAULT_RECORD_LIMIT, metavar="SECONDS",
                   help=f"CPU seconds the evaluation of one case may take (default {DEFAULT_RECORD_LIMIT:g}; 'none': no "
                        "limit), as eval --record-limit: a case past it is stopped and answered with an error saying "
                        "so (a batch lists that record as rejected). A request's work also stops when its client "
                        "disconnects")
    return s


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    try:
        import uvicorn

        from policy_eval.web.app import create_app
        from policy_eval.web.workbench import Workbench, WorkbenchError
    except ImportError:
        err.write(MISSING + "\n")
        return common.EXIT_USAGE
    examples = Path(args.examples) if args.examples and Path(args.examples).is_dir() else None
    try:
        bench = Workbench.open(args.policies, params=args.params, examples=examples, against=args.against)
    except WorkbenchError as exc:
        raise common.UsageError(str(exc)) from None
    out.write(f"policy-eval workbench on http://{args.host}:{args.port}/ (Ctrl-C stops it)\n")
    out.flush()
    uvicorn.run(create_app(bench, record_limit=args.record_limit), host=args.host, port=args.port, log_level="warning")
    return 0
