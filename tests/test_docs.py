"""Docs are tests: every fenced Python and shell example in README.md and docs/*.md runs.

Each file's Python blocks run in order in one namespace (a page reads as one session);
each shell block runs alone under ``bash -e``. Both run in a temporary folder holding a
link to the repository's ``fixtures/``, so examples use the paths a user of a fresh
clone types. A block that cannot run on shipped data is preceded by
``<!-- not-run: reason -->``; those marks are counted and must stay rare.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON = {"python", "py"}
SHELL = {"bash", "sh", "shell", "console"}
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
_MARK = re.compile(r"<!--\s*not-run:\s*(.*?)\s*-->\s*$")
#: At most this many blocks may be marked not-run (installs, benchmarks, signatures).
MAX_NOT_RUN = 10


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    code: str
    not_run: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced Python and shell blocks of a page, with their not-run reason if marked."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        lang = m.group(1).lower()
        if lang not in PYTHON | SHELL:
            continue
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = _MARK.search(before)
        line = text.count("\n", 0, m.start()) + 1
        out.append(Block(page, line, lang, m.group(2), mark.group(1) if mark else None))
    return out


ALL = [b for p in PAGES for b in blocks(p)]


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
    return tmp_path


def test_not_run_marks_are_rare_and_give_a_reason() -> None:
    marked = [b for b in ALL if b.not_run is not None]
    assert all(b.not_run for b in marked), [b.id for b in marked if not b.not_run]
    assert len(marked) <= MAX_NOT_RUN, [b.id for b in marked]
    assert len(ALL) - len(marked) >= 20  # most examples do run


def test_every_doc_example_is_found() -> None:
    # The parser sees the README's quick-start and a docs page's example.
    ids = {b.id.split(":")[0] for b in ALL}
    assert {"README.md", "docs/features.md", "docs/mirror.md"} <= ids


@pytest.mark.parametrize(
    "page", [p for p in PAGES if any(b.lang in PYTHON for b in blocks(p))], ids=lambda p: p.name
)
@pytest.mark.usefixtures("shell_runs")  # the shell blocks run meanwhile
def test_python_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_workdir(tmp_path))
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for b in blocks(page):
        if b.lang not in PYTHON or b.not_run is not None:
            continue
        try:
            exec(compile(b.code, b.id, "exec"), namespace)
        except Exception as e:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{b.id}: {type(e).__name__}: {e}")


def _shell(code: str) -> tuple[str, bool]:
    """The commands of a block, and whether it is a transcript (commands and their output).

    A console block carries "$ " prompts: only prompted lines (and their continuations)
    run. A transcript may show a command that fails on purpose, so it runs without -e
    and its last command's exit code (usually ``echo $?``) is the check.
    """
    lines = code.splitlines()
    if not any(line.startswith("$ ") for line in lines):
        return code, False
    out: list[str] = []
    cont = False
    for line in lines:
        if line.startswith("$ ") or cont:
            out.append(line[2:] if line.startswith("$ ") and not cont else line)
            cont = line.endswith("\\")
    transcript = len(out) < len(lines)
    return "\n".join(out), transcript


SHELL_BLOCKS = [b for b in ALL if b.lang in SHELL and b.not_run is None]


def _run_shell(block: Block, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    code, transcript = _shell(block.code)
    return subprocess.run(
        ["bash", *([] if transcript else ["-e"]), "-o", "pipefail", "-c", code],
        cwd=_workdir(workdir),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # generous: a loaded machine runs the blocks side by side
        check=False,
    )


@pytest.fixture(scope="module")
def shell_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Future[subprocess.CompletedProcess[str]]]]:
    """Every shell block, started at once in its own folder (they are independent).

    The blocks are separate processes, so they run side by side (one per core, and
    beside the Python pages) instead of one after the other: every block still runs.
    ``REROUTING_DOCS_WORKERS=1`` runs them one at a time.
    """
    workers = int(os.environ.get("REROUTING_DOCS_WORKERS", 0)) or max(2, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield {
            b.id: pool.submit(_run_shell, b, tmp_path_factory.mktemp("shell")) for b in SHELL_BLOCKS
        }


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.id)
def test_shell_examples_run(
    block: Block, shell_runs: dict[str, Future[subprocess.CompletedProcess[str]]]
) -> None:
    r = shell_runs[block.id].result()
    assert r.returncode == 0, (
        f"{block.id} exited {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    )
