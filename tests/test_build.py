"""Compilation, setup and the artifact cache."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from zkmargin import build, paths, ptau, registry
from zkmargin.build import CircuitKeys
from zkmargin.errors import ArtifactError
from zkmargin.toolchain import Toolchain


def test_public_signals_follow_the_registry(keys: Callable[[str], CircuitKeys]) -> None:
    k = keys("liquidation_4")
    slots = ["price", "liquidityIndex", "borrowIndex", "decimals", "liqThreshold"]
    emode = ["emodeId", "emodeLiqThreshold", "emodeCollateralBitmap"]
    assert k.compiled.public_signals == (
        ["commitment", "rulesVersion"]
        + [f"{a}[{i}]" for a in slots for i in range(4)]
        + [f"{a}[{i}]" for a in emode for i in range(4)]
        + ["hfThreshold"]
    )
    assert k.vkey()["nPublic"] == 35 == len(registry.get("liquidation_4").public_signal_names())


def test_cached_build_is_reused_and_rechecked(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    k = keys("liquidation_4")
    again = build.build(registry.get("liquidation_4"), tc)
    assert again.dir == k.dir and again.meta == k.meta


def test_corrupted_cache_is_rebuilt_not_trusted(
    tc: Toolchain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: Callable[[str], CircuitKeys]
) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE_DIR", str(tmp_path))
    src = keys("liquidation_4").compiled.dir
    spec = registry.get("liquidation_4")
    dst = paths.compile_dir(spec.id, src.name)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("setup-*"))
    (dst / paths.WASM).write_bytes(b"\0asm truncated")
    compiled = build.compile_circuit(spec, tc)
    assert compiled.dir == dst
    assert paths.sha256_file(compiled.wasm) == paths.sha256_file(src / paths.WASM)
    assert not list(tmp_path.rglob("*.partial"))


def test_sources_change_the_cache_key(tc: Toolchain) -> None:
    spec = registry.get("liquidation_4")
    k1 = paths.compile_key(spec.id, spec.as_dict(), tc.fingerprint)
    k2 = paths.compile_key(spec.id, {**spec.as_dict(), "params": [5]}, tc.fingerprint)
    k3 = paths.compile_key(spec.id, spec.as_dict(), {**tc.fingerprint, "snarkjs": "0.0.0"})
    assert len({k1, k2, k3}) == 3


def test_dev_ptau_is_the_pinned_file() -> None:
    info = ptau.inspect(paths.DEV_PTAU)
    assert info.sha256 == ptau.dev_ptau_sha256()
    assert info.is_dev and info.power == 15


def test_ptau_too_small_is_a_clear_error(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, small_ptaus: tuple[Path, Path]
) -> None:
    compiled = keys("liquidation_4").compiled
    with pytest.raises(ArtifactError, match=r"power 8 are too small .* needs power >= 14"):
        build.setup_circuit(compiled, tc, small_ptaus[0])


def test_unprepared_ptau_is_a_clear_error(small_ptaus: tuple[Path, Path]) -> None:
    with pytest.raises(ArtifactError, match="not prepared for phase 2"):
        ptau.inspect(small_ptaus[1])


@pytest.mark.parametrize("content", [b"", b"ptau", b"not a ptau at all", b"ptau\x01\x00\x00\x00\x05\x00\x00\x00"])
def test_garbage_ptau_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "x.ptau"
    p.write_bytes(content)
    with pytest.raises(ArtifactError):
        ptau.inspect(p)
