"""Atomic file output: write beside the target, then rename into place.

An interrupted write (an exception, Ctrl-C, or SIGKILL) never leaves a partial
file under the final name: the old file stays, or there is none. The temporary
file is ``.NAME.PID-TOKEN.part`` in the target's folder (a rename across file
systems would not be atomic). SIGKILL gives the process no chance to remove it,
so every write first sweeps the parts of ``NAME`` left by processes that no
longer run.
"""

from __future__ import annotations

import glob
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["atomic_path", "process_alive", "stale_parts"]


def _part_name(target: Path) -> str:
    return f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.part"


def process_alive(pid: int) -> bool:
    """Whether a process of that id runs (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def stale_parts(target: Path) -> list[Path]:
    """Temporary files of ``target`` whose writing process is gone."""
    prefix = f".{target.name}."
    stale = []
    # the name is literal: brackets, * and ? in it must not act as a pattern
    for part in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        pid_text = part.name[len(prefix) : -len(".part")].split("-", 1)[0]
        if pid_text.isdigit() and not process_alive(int(pid_text)):
            stale.append(part)
    return stale


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``.

    The file gets the user's usual mode (0666 less the umask). On any exception
    the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    for part in stale_parts(target):
        part.unlink(missing_ok=True)
    tmp = target.parent / _part_name(target)
    try:
        # Created inside the try: a Ctrl-C that lands just after the file appears
        # must still remove it (the interrupted-write test hit that window).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
        yield tmp
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
