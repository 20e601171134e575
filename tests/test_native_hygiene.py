"""The C sources (zkmargin/native/) compile without a warning, and the prover and verifier run
clean under AddressSanitizer and UndefinedBehaviorSanitizer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from zkmargin import native
from zkmargin.build import CircuitKeys
from zkmargin.errors import ToolchainError
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.proc import run
from zkmargin.statements.lending import liquidation_inputs
from zkmargin.witness import WitnessCalculator

from .conftest import REPO_ROOT

WARNINGS = ("-Wall", "-Wextra", "-Werror")
SANITIZE = ("-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g")
# what ASan and UBSan print when they find something (UBSan's "runtime error" also without halting)
REPORTS = ("AddressSanitizer", "UndefinedBehaviorSanitizer", "runtime error:", "LeakSanitizer")


def _compiler() -> str:
    try:
        return native.compiler()
    except ToolchainError as e:
        pytest.skip(f"no C compiler: {e}")


@pytest.mark.slow
@pytest.mark.parametrize("unit", native.UNITS, ids=[u.name for u in native.UNITS])
def test_compiles_without_warnings(unit: Path, tmp_path: Path) -> None:
    """Each unit alone, with the project's flags: a warning is an error (CommandError with cc's output).
    Compiled, not linked: the units share hidden symbols (arith.c's choice of field multiplication),
    so only the library as a whole links, which every other test does."""
    run([_compiler(), *native.CFLAGS, *WARNINGS, "-c", "-o", tmp_path / f"{unit.stem}.o", unit], timeout=600)


def _runtime(cc: str, name: str) -> Path | None:
    """The compiler's copy of a sanitizer runtime; cc prints the bare name when it has none."""
    out = run([cc, f"-print-file-name={name}"], timeout=60).stdout.strip()
    return Path(out) if os.path.isabs(out) and Path(out).is_file() else None


# Runs with the instrumented library, on each field multiplication the CPU has: proofs with the C
# prover (both threads, without and with the fixed-base tables), then the C verifier on them
# (valid), on a tampered proof and on a tampered public signal (both invalid), and a batch on
# both threads (valid, and invalid with one tampered signal).
CHILD = """
import json, os, sys
from pathlib import Path
os.environ.pop("LD_PRELOAD")  # this process has the runtime; the compilers it runs need none
from zkmargin import groth16_fast, native, native_prover
zkey, vkey, witness = (Path(a) for a in sys.argv[1:4])
assert native.cflags() == native.CFLAGS + tuple(sys.argv[4:]), native.cflags()
lib = native.library()
w = json.loads(witness.read_text())
prover = native_prover.NativeProver(zkey)
key = groth16_fast.PreparedKey(json.loads(vkey.read_text()))
tabled = native_prover.NativeProver(zkey)
tabled.build_tables()
for arith in (0, 1):
    if lib.zkm_arith(arith) != arith:
        continue  # no mulx/adx on this CPU
    proofs = [p.prove(w, threads=2) for p in (prover, tabled)]
    for proof, public in proofs:
        assert groth16_fast.verify(key, public, proof, engine="c").valid
        assert not groth16_fast.verify(key, public, {**proof, "pi_c": proof["pi_a"]}, engine="c").valid
        assert not groth16_fast.verify(key, [str(int(public[0]) + 1), *public[1:]], proof, engine="c").valid
    items = [(public, proof) for proof, public in proofs] * 9
    assert groth16_fast.verify_batch(key, items, engine="c", threads=2).valid
    bad = [(list(public), proof) for public, proof in items]
    bad[5][0][0] = str(int(bad[5][0][0]) + 1)
    assert not groth16_fast.verify_batch(key, bad, engine="c", threads=2).valid
print(native._library_path())  # the instrumented build, which the parent built
"""


@pytest.mark.slow
def test_prover_and_verifier_under_sanitizers(
    keys: Callable[[str], CircuitKeys],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    liquidatable: Position,
    market: Market,
    prices: PriceSnapshot,
) -> None:
    cc = _compiler()
    asan, ubsan = _runtime(cc, "libasan.so"), _runtime(cc, "libubsan.so")
    if asan is None or ubsan is None:
        pytest.skip(f"{cc} has no AddressSanitizer/UBSan runtime (libasan.so: {asan}, libubsan.so: {ubsan})")
    k = keys("liquidation_4")
    witness = WitnessCalculator(k.compiled.wasm).calculate(
        liquidation_inputs(liquidatable, market, prices, 10**18).inputs
    )
    (tmp_path / "witness.json").write_text(json.dumps(witness))
    # build the instrumented library here, in a cache of its own, without the runtime preloaded
    # (the child then finds it built; it cannot be loaded into this uninstrumented process)
    cache = tmp_path / "cache"
    monkeypatch.setenv("ZKMARGIN_CACHE_DIR", str(cache))
    monkeypatch.setenv(native.EXTRA_CFLAGS_ENV, " ".join(SANITIZE))
    lib = native._library_path()
    assert lib.is_relative_to(cache) and "-fsanitize=address,undefined" in (lib.parent / "meta.json").read_text()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "LD_PRELOAD": str(asan),
        "PYTHONMALLOC": "malloc",  # buffers Python hands to C come from malloc, so ASan tracks them
        "ASAN_OPTIONS": "detect_leaks=0",  # CPython keeps its allocations until exit by design
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, k.zkey, k.vkey_path, tmp_path / "witness.json", *SANITIZE],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert child.returncode == 0 and child.stdout.strip() == str(lib), child.stderr[-4000:]
    assert not [r for r in REPORTS if r in child.stderr], child.stderr[-4000:]
