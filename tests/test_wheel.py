"""zkmargin as a library people install: the wheel works outside the checkout.

A wheel built from this checkout is installed into fresh virtual environments in an empty
directory: with node, `zkmargin setup && zkmargin demo` proves and verifies; without node on PATH
(the protocols' path), `zkmargin verify` of that bundle against its pinned vkey exits 0 and a
tampered copy exits 1, and the Python verification API works.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from zkmargin import paths

from .conftest import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.node]


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    res = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(REPO_ROOT), "-w", str(out)],
        cwd=out,
        env=dict(os.environ),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    (whl,) = out.glob("zkmargin-*.whl")
    return whl


def test_the_wheel_carries_what_it_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "zkmargin/cli/main.py",
        "zkmargin/data/circuits/circuits.json",
        "zkmargin/data/circuits/lib/health.circom",
        "zkmargin/data/contracts/LiquidationVerifierRegistry.sol",
        "zkmargin/data/contracts/PrivateMarginPool.sol",
        "zkmargin/data/fixtures/dev-pot15.ptau",
        "zkmargin/data/fixtures/dev-pot15.ptau.sha256",
        "zkmargin/data/node/package-lock.json",
        "zkmargin/js/prover_worker.cjs",
        "zkmargin/native/pairing.c",
        "zkmargin/py.typed",
    ):
        assert needed in names, needed
    assert not any(n.startswith("cli/") for n in names), "no top-level cli package"


def _clean_env() -> dict[str, str]:
    """This process's environment without what would show the checkout to a child: with the
    checkout on PYTHONPATH, pip would find zkmargin "already installed" and install nothing."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ZKMARGIN_NODE_MODULES")}


def _venv(where: Path, wheel: Path, extras: str = "") -> Path:
    venv.EnvBuilder(with_pip=True).create(where)
    py = where / "bin" / "python"
    res = _run([str(py), "-m", "pip", "install", "-q", f"{wheel}{extras}"], cwd=where, env=_clean_env())
    assert res.returncode == 0, res.stderr[-3000:]
    return where / "bin"


def test_setup_demo_then_verify_without_node(wheel: Path, tmp_path: Path, isolated_cache: Path) -> None:
    work = tmp_path / "empty"  # outside the checkout: nothing of the repo is on any path
    work.mkdir()
    base_env = _clean_env()
    base_env["ZKMARGIN_CACHE_DIR"] = str(isolated_cache)
    with_node = _venv(tmp_path / "venv-node", wheel, "[evm]")  # the demo verifies on an EVM too
    env = {**base_env, "PATH": f"{with_node}:{os.environ['PATH']}"}
    res = _run([str(with_node / "zkmargin"), "setup"], cwd=work, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    res = _run([str(with_node / "zkmargin"), "demo", "--out", "out"], cwd=work, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert "fast: VALID" in res.stdout and "evm: VALID" in res.stdout
    bundle = work / "out" / "liquidation-bundle.json"
    vkey = work / "vkey.json"
    res = _run(
        [str(with_node / "zkmargin"), "build", "liquidation_4", "--manifest-dir", "pub", "--json"], cwd=work, env=env
    )
    assert res.returncode == 0, res.stderr[-3000:]
    shutil.copyfile(work / "pub" / "liquidation_4.vkey.json", vkey)

    # the protocols' path: only the wheel and its dependencies, no node, no C compiler
    no_node = _venv(tmp_path / "venv-verify", wheel)
    assert shutil.which("node", path=str(no_node)) is None
    env = {
        **base_env,
        "PATH": str(no_node),
        "ZKMARGIN_CACHE_DIR": str(tmp_path / "verifier-cache"),
        "ZKMARGIN_DATA_DIR": str(tmp_path / "no-data"),
        "CC": str(tmp_path / "no-compiler"),
    }
    res = _run([str(no_node / "zkmargin"), "verify", str(bundle), "--vkey", str(vkey), "--json"], cwd=work, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["valid"] and out["engine"].startswith("fast: pure-Python engine")
    assert res.stderr.count("pure-Python engine") == 1, res.stderr  # said once, on stderr
    tampered = json.loads(bundle.read_text())
    tampered["public_signals"][0] = str(int(tampered["public_signals"][0]) + 1)
    (work / "tampered.json").write_text(json.dumps(tampered))
    res = _run([str(no_node / "zkmargin"), "verify", "tampered.json", "--vkey", str(vkey)], cwd=work, env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    res = _run([str(no_node / "zkmargin"), "verify", str(bundle), "--vkey", str(vkey), "--onchain"], cwd=work, env=env)
    assert res.returncode == 2 and "zkmargin[evm]" in res.stderr and "Traceback" not in res.stderr, res.stderr
    for cmd in (["wallet", "show"], ["devnet", "status", "--json"]):  # commands that talk to a chain
        res = _run([str(no_node / "zkmargin"), *cmd], cwd=work, env=env)
        assert res.returncode == 2 and "zkmargin[evm]" in res.stdout + res.stderr, (cmd, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr, res.stderr
    for cmd in (["verify-batch", str(bundle), "--vkey", str(vkey)], ["calldata", str(bundle), "--json"]):
        res = _run([str(no_node / "zkmargin"), *cmd], cwd=work, env=env)
        assert res.returncode == 0, (cmd, res.stderr[-2000:])
    script = (
        "from zkmargin import api\n"
        f"b = api.load_bundle({str(bundle)!r})\n"
        f"print(api.verify_bundle(b, vkey={str(vkey)!r}).valid)\n"
    )
    res = _run([str(no_node / "python"), "-c", script], cwd=work, env=env)
    assert res.returncode == 0 and res.stdout.strip() == "True", res.stderr[-2000:]
    assert not str(paths.PACKAGE_DIR).startswith(str(work))  # sanity: the checkout's package is elsewhere
