"""The README's fenced code blocks, for tests/test_readme.py and scripts/check-wheel.sh.

Convention (written in the README's "Development" section): a block fenced as ```` ```bash ```` is
a runnable example: it runs as written in a fresh ``bash`` against a mock on
``http://127.0.0.1:4010`` with the demo fixtures, and the test suite runs it. Anything meant to be
read but not run here (long-running commands, a staging URL, output) is fenced ```` ```sh ````,
```` ```console ```` or ```` ```text ````.

``python tests/readme_blocks.py README.md --plugin-example`` prints the pytest-plugin example.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """One fenced block: its language tag, text, first line number and the heading above it."""

    language: str
    text: str
    line: int
    heading: str

    @property
    def label(self) -> str:
        """How a failure names the block: ``README.md:42 (section "Quick start")``."""
        return f'README.md:{self.line} (section "{self.heading}")'


def blocks(markdown: str) -> list[Block]:
    """Every fenced block of ``markdown``, in order."""
    headings = [(match.start(), match.group(1)) for match in HEADING.finditer(markdown)]
    found = []
    for match in FENCE.finditer(markdown):
        above = [title for start, title in headings if start < match.start()]
        line = markdown.count("\n", 0, match.start()) + 1
        found.append(Block(match.group(1).lower(), match.group(2), line, above[-1] if above else "(top)"))
    return found


def runnable(markdown: str) -> list[Block]:
    """The ```` ```bash ```` blocks: the examples that must run as written."""
    return [block for block in blocks(markdown) if block.language == "bash"]


def plugin_example(markdown: str) -> Block:
    """The pytest-plugin example: the first ```` ```python ```` block with a test using ``sales_entity``.

    LookupError if there is none."""
    for block in blocks(markdown):
        if block.language == "python" and "def test_" in block.text and "sales_entity" in block.text:
            return block
    raise LookupError("README.md has no ```python block with a test using the sales_entity fixture")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] != "--plugin-example":
        print("usage: readme_blocks.py README.md --plugin-example", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(plugin_example(Path(argv[0]).read_text(encoding="utf-8")).text)
    except (OSError, LookupError) as error:
        print(f"readme_blocks: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
