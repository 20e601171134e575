"""Shared fixtures. Circuits are built once per session into a fresh cache, so the
build path itself (circom2, snarkjs setup) runs on every CI run.

Set ZKMARGIN_TEST_CACHE=DIR to reuse builds between local runs. Under pytest-xdist (`make test`
runs two workers) the workers share one fresh cache: builds there are locked per circuit, so a
circuit is built once and the other worker waits for it.

Markers follow from fixtures (pytest_collection_modifyitems below): a test that uses `tc`, even
through another fixture, needs node and is marked `node`; one that uses `keys` or `small_ptaus`
(and so `bundle`) builds circuits or runs snarkjs and is marked `slow` too. Tests that reach node
another way (the CLI discovering the toolchain itself, a node script) carry the marks in their
module. `make test-fast` (-m "not slow and not node") runs the rest without node.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from zkmargin import build, native, paths, registry
from zkmargin.build import CircuitKeys
from zkmargin.bundle import Bundle
from zkmargin.commitment import commit_amounts
from zkmargin.field import R
from zkmargin.loaders import load_market, load_position, load_prices
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.proc import run
from zkmargin.settings import Settings
from zkmargin.statements import lending
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue

FIX = paths.FIXTURES_DIR
REPO_ROOT = Path(__file__).resolve().parent.parent  # the checkout (README, PYTHONPATH for child processes)


# fixture -> the marks every test using it (directly or through other fixtures) gets
FIXTURE_MARKS: dict[str, tuple[str, ...]] = {
    "tc": ("node",),  # the node toolchain: node, circom2, snarkjs
    "keys": ("slow", "node"),  # circuit builds and the Groth16 setup
    "small_ptaus": ("slow", "node"),  # snarkjs powers-of-tau ceremonies
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker in sorted({m for f, ms in FIXTURE_MARKS.items() if f in used for m in ms}):
            item.add_marker(marker)


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    reuse = os.environ.get("ZKMARGIN_TEST_CACHE")
    if reuse:
        d = Path(reuse)
    elif os.environ.get("PYTEST_XDIST_WORKER"):
        # each worker's basetemp is <run's basetemp>/<worker id>: the parent is the run's, shared
        d = tmp_path_factory.getbasetemp().parent / "zkmargin-cache"
        d.mkdir(exist_ok=True)
    else:
        d = tmp_path_factory.mktemp("zkmargin-cache")
    old = os.environ.get("ZKMARGIN_CACHE_DIR")
    os.environ["ZKMARGIN_CACHE_DIR"] = str(d)
    yield d
    if old is None:
        os.environ.pop("ZKMARGIN_CACHE_DIR", None)
    else:
        os.environ["ZKMARGIN_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def tc() -> Toolchain:
    t = Toolchain.discover()
    t.require()
    return t


@pytest.fixture(scope="session")
def keys(tc: Toolchain, isolated_cache: Path) -> Callable[[str], CircuitKeys]:
    built: dict[str, CircuitKeys] = {}

    def get(circuit_id: str) -> CircuitKeys:
        if circuit_id not in built:
            built[circuit_id] = build.build(registry.get(circuit_id), tc)
        return built[circuit_id]

    return get


@pytest.fixture(scope="session")
def small_ptaus(tc: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A prepared power-8 ptau with one contribution (too small for every circuit) and an unprepared one."""
    d = tmp_path_factory.mktemp("ptau")
    new, raw, prepared = d / "pot8_new.ptau", d / "pot8_0001.ptau", d / "pot8_final.ptau"
    run(tc.argv("snarkjs", "powersoftau", "new", "bn128", "8", new), timeout=300)
    run(tc.argv("snarkjs", "powersoftau", "contribute", new, raw, "--name=tests", "-e=test entropy"), timeout=300)
    run(tc.argv("snarkjs", "powersoftau", "prepare", "phase2", raw, prepared), timeout=600)
    return prepared, raw


@pytest.fixture(scope="session")
def bundle(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, liquidatable: Position, market: Market, prices: PriceSnapshot
) -> Bundle:
    """One liquidation proof of the fixture position (4 slots), shared by the read-only tests."""
    keys("liquidation_4")
    return lending.prove_liquidation(liquidatable, market, prices, settings=Settings(toolchain=tc))


def native_ariths() -> list[str]:
    """The C library's field multiplications this CPU runs: "adx" (the mulx/adcx/adox assembly,
    which the library picks by itself where the CPU has BMI2 and ADX) and "portable" (the C
    fallback, always)."""
    lib = native.library()
    before = lib.zkm_arith(-1)
    has_adx = lib.zkm_arith(1) == 1
    lib.zkm_arith(before)
    return ["adx", "portable"] if has_adx else ["portable"]


@contextmanager
def native_arith(path: str) -> Iterator[None]:
    """The C library on one field multiplication for the duration (skips where the CPU lacks it)."""
    if path not in native_ariths():
        pytest.skip(f"this CPU cannot run the {path} field multiplication")
    lib = native.library()
    before = lib.zkm_arith(-1)
    lib.zkm_arith(1 if path == "adx" else 0)
    try:
        yield
    finally:
        lib.zkm_arith(before)


@pytest.fixture(scope="session")
def market() -> Market:
    return load_market(FIX / "market.json")


@pytest.fixture(scope="session")
def prices(market: Market) -> PriceSnapshot:
    return load_prices(FIX / "prices.json", market)


@pytest.fixture(scope="session")
def liquidatable(market: Market) -> Position:
    return load_position(FIX / "position-liquidatable.json", market)


@pytest.fixture(scope="session")
def healthy(market: Market) -> Position:
    return load_position(FIX / "position-healthy.json", market)


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def set_input(inputs: dict[str, InputValue], name: str, index: int | None, value: int) -> dict[str, InputValue]:
    """A copy of circuit inputs with one signal (or one array element) set to value mod r."""
    out = dict(inputs)
    if index is None:
        out[name] = value % R
    else:
        arr = list(out[name])  # type: ignore[arg-type]
        arr[index] = value % R
        out[name] = arr
    return out


def recommit_lending(inputs: dict[str, InputValue]) -> dict[str, InputValue]:
    """Keep a lending commitment consistent with edited amounts, so only the edit is attacked."""
    coll, debt, salt = inputs["collateral"], inputs["debt"], inputs["salt"]
    flags, emode = inputs["collateralFlags"], inputs["eModeCategory"]
    assert isinstance(coll, list) and isinstance(debt, list) and isinstance(salt, int)
    assert isinstance(flags, int) and isinstance(emode, int)
    return {**inputs, "commitment": commit_amounts(coll, debt, salt, flags, emode)}


def node_json(tc: Toolchain, script: str, payload: Any) -> Any:
    """Run tests/js/<script> with a JSON payload file; return its JSON output."""
    with tempfile.TemporaryDirectory() as d:
        inp = Path(d) / "in.json"
        inp.write_text(json.dumps(payload))
        cp = run([tc.node_path(), Path(__file__).parent / "js" / script, tc.node_modules, inp], timeout=300)
    return json.loads(cp.stdout)
