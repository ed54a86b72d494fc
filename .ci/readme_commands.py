"""Print the README's first two shell commands (set-up + main job; tests), one per line.

The same extraction as /work/shared/tools/readme-check.sh: the first fenced ```bash/sh/shell/console
blocks of README.md, lines stripped, a leading "$ " dropped, blank and comment lines skipped. .ci/run
runs exactly these, so CI cannot do more (or less) than a newcomer following the README.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PATTERN = r"```(?:bash|sh|shell|console)?\n(.*?)```"


def readme_commands(text: str) -> list[str]:
    cmds: list[str] = []
    for block in re.findall(PATTERN, text, re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            if line and not line.startswith("#"):
                cmds.append(line)
        if len(cmds) >= 2:
            break
    return cmds[:2]


if __name__ == "__main__":
    readme = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "README.md")
    found = readme_commands(readme.read_text(encoding="utf-8"))
    if len(found) != 2:
        sys.exit(f"{readme}: expected two shell commands (set-up + main job; tests), found {len(found)}")
    print("\n".join(found))
