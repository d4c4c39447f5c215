"""A scan that is stopped leaves no spooled rows in the temporary folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING

import polars as pl
import pytest

from rerouting._readers._spool import _HOST, Spool
from rerouting.synthetic import make_world

if TYPE_CHECKING:
    from pathlib import Path


def _dead_pid() -> int:
    code = "import os; print(os.getpid())"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(done.stdout)


def test_a_new_spool_removes_the_folders_of_processes_that_no_longer_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = _dead_pid()
    killed = tmp_path / f"rerouting-{dead}-{_HOST}-abc123"
    running = tmp_path / f"rerouting-{os.getpid()}-{_HOST}-def456"
    other = tmp_path / "rerouting-notapid-x"
    elsewhere = tmp_path / f"rerouting-{dead}-00000000-ghi789"  # another container's
    for folder in (killed, running, other, elsewhere):
        folder.mkdir()
        (folder / "rows.parquet").write_bytes(b"spooled rows")
    spool = Spool()
    try:
        assert not killed.exists()
        assert running.exists()
        assert other.exists()
        assert elsewhere.exists()  # its process id means nothing on this machine
        assert spool.dir.parent == tmp_path
        assert spool.dir.name.startswith(f"rerouting-{os.getpid()}-{_HOST}-")
    finally:
        spool.close()
    assert not spool.dir.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_scan_removes_its_spool(tmp_path: Path, sig: signal.Signals) -> None:
    # every row twice: the scan spends seconds merging repeated record keys
    world = make_world(0, rows=300_000)
    path = tmp_path / "trade.parquet"
    pl.concat([world.trade, world.trade]).write_parquet(path)
    spool_root = tmp_path / "tmp"
    spool_root.mkdir()
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as stderr:
        scan = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rerouting",
                "scan",
                str(path),
                "--origin",
                "BLR",
                "--destination",
                "EU",
                "--event",
                "2022-03",
                "-q",
            ],
            env={**os.environ, "TMPDIR": str(spool_root)},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while not any(spool_root.glob("rerouting-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        spooled = list(spool_root.glob("rerouting-*"))
        assert spooled, "the scan made no spool folder"
        time.sleep(0.5)  # inside the scan's polars calls, not between two of them
        sent = time.monotonic()
        scan.send_signal(sig)
        code = scan.wait(timeout=30)
        waited = time.monotonic() - sent
    finally:
        scan.kill()
    assert code == 128 + sig, errors.read_text()  # it was still running when signalled
    assert waited < 5  # it did not wait for the polars call to return
    assert not any(spool_root.iterdir())
