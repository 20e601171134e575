"""Concurrent and interrupted builds never leave an artifact that a later run would trust."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zkmargin import build, paths, registry
from zkmargin.toolchain import Toolchain

from .test_conformance import CONSTRAINTS

pytestmark = [pytest.mark.slow, pytest.mark.node]  # child processes compile circuits with circom

SNIPPET = (
    "from zkmargin import build, registry; from zkmargin.toolchain import Toolchain; "
    "c = build.compile_circuit(registry.get('liquidation_4'), Toolchain.discover()); print(c.dir)"
)


def _spawn(cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ZKMARGIN_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-c", SNIPPET], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_processes_build_the_same_circuit(tmp_path: Path) -> None:
    procs = [_spawn(tmp_path), _spawn(tmp_path)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    dirs = {o[0].strip() for o in outs}
    assert len(dirs) == 1
    assert not list(tmp_path.rglob("*.partial"))
    compiled = [d for d in (tmp_path / "liquidation_4").iterdir() if d.is_dir()]
    assert len(compiled) == 1 and (compiled[0] / paths.META).exists()


def test_interrupted_build_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _spawn(tmp_path)
    deadline = time.monotonic() + 120
    while not list(tmp_path.rglob("*.partial")) and time.monotonic() < deadline:  # wait for circom2 to start
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.communicate()
    published = [d for d in (tmp_path / "liquidation_4").iterdir() if d.is_dir() and not d.name.startswith(".")]
    assert published == []  # only a staging directory, which no run trusts
    monkeypatch.setenv("ZKMARGIN_CACHE_DIR", str(tmp_path))
    c = build.compile_circuit(registry.get("liquidation_4"), Toolchain.discover())
    assert c.n_constraints == CONSTRAINTS["liquidation_4"][0] and (c.dir / paths.META).exists()
    assert not list(tmp_path.rglob("*.partial"))  # the next build removed the dead one's staging dir
