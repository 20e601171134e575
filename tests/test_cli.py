"""The zkmargin command line: exit codes, --json, atomic outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkmargin.build import CircuitKeys
from zkmargin.cli.main import cli
from zkmargin.commitment import commitment
from zkmargin.loaders import load_position
from zkmargin.model import Market
from zkmargin.toolchain import Toolchain

from .conftest import FIX
from .test_conformance import CONSTRAINTS

MARKET = str(FIX / "market.json")
PRICES = str(FIX / "prices.json")
LIQ = str(FIX / "position-liquidatable.json")


@pytest.fixture(scope="module")
def bundle_file(tmp_path_factory: pytest.TempPathFactory, keys: Callable[[str], CircuitKeys]) -> Path:
    keys("liquidation_4")
    out = tmp_path_factory.mktemp("cli") / "liq.json"
    res = CliRunner().invoke(cli, ["prove", LIQ, "--market", MARKET, "--prices", PRICES, "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.node
def test_doctor_ok(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["doctor", "--json"])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["ok"] and {c["name"] for c in data["checks"]} >= {"node", "circom2", "snarkjs", "circomlib"}


def test_doctor_reports_what_is_missing(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["--node-modules", str(tmp_path), "doctor"])
    assert res.exit_code == 2
    assert "MISSING circom2" in res.output and "npm ci" in res.output
    res = runner.invoke(cli, ["--node", str(tmp_path / "no-node"), "doctor"])
    assert res.exit_code == 2 and "ZKMARGIN_NODE" in res.output


def test_missing_toolchain_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(
        cli,
        [
            "--node-modules",
            str(tmp_path),
            "prove",
            LIQ,
            "--market",
            MARKET,
            "--prices",
            PRICES,
            "-o",
            str(tmp_path / "b.json"),
        ],
    )
    assert res.exit_code == 2 and "npm ci" in res.output
    assert not (tmp_path / "b.json").exists()


def test_commit_prints_the_commitment(runner: CliRunner, market: Market) -> None:
    res = runner.invoke(cli, ["commit", LIQ, "--market", MARKET, "--json"])
    assert res.exit_code == 0
    expected = commitment(load_position(LIQ, market), market, 4)
    assert json.loads(res.stdout)["commitment"] == f"0x{expected:064x}"


def test_commit_draws_a_salt(runner: CliRunner, tmp_path: Path, market: Market) -> None:
    raw = json.loads(Path(LIQ).read_text())
    del raw["salt"]
    unsalted = tmp_path / "p.json"
    unsalted.write_text(json.dumps(raw))
    res = runner.invoke(cli, ["commit", str(unsalted), "--market", MARKET])
    assert res.exit_code == 2 and "--output" in res.output
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    coms = []
    for out in outs:
        res = runner.invoke(cli, ["commit", str(unsalted), "--market", MARKET, "-o", str(out), "--json"])
        assert res.exit_code == 0, res.output
        coms.append(json.loads(res.stdout)["commitment"])
        assert coms[-1] == f"0x{commitment(load_position(out, market), market, 4):064x}"
    assert coms[0] != coms[1]  # fresh salts


def test_health(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["health", LIQ, "--market", MARKET, "--prices", PRICES, "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["health_factor_decimal"] == "0.981"
    res = runner.invoke(cli, ["health", str(FIX / "position-healthy.json"), "--market", MARKET, "--prices", PRICES])
    assert res.exit_code == 1 and "1.635" in res.output


def test_verify_valid_and_json(runner: CliRunner, bundle_file: Path) -> None:
    for backend in ("fast", "snarkjs"):
        res = runner.invoke(cli, ["verify", str(bundle_file), "--backend", backend, "--json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        assert data["valid"] and data["claim"]["hfThreshold_decimal"] == "1"
        # slots are named only from a market the verifier pins, never from the bundle's context
        assert data["claim"]["assets"][0]["symbol"] is None
        assert data["key"]["source"] == "installation" and data["statement_unpinned"]
        res = runner.invoke(
            cli,
            [
                "verify",
                str(bundle_file),
                "--backend",
                backend,
                "--json",
                "--market",
                str(FIX / "market.json"),
                "--prices",
                str(FIX / "prices.json"),
                "--threshold",
                "1.0",
            ],
        )
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        assert data["claim"]["assets"][0]["symbol"] == "WETH" and data["statement_unpinned"] == []


def test_verify_tampered_is_exit_1(runner: CliRunner, bundle_file: Path, tmp_path: Path) -> None:
    data = json.loads(bundle_file.read_text())
    data["public_signals"][13] = str(2 * 10**18)  # claim HF < 2 instead of HF < 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    for backend in ("fast", "snarkjs"):
        res = runner.invoke(cli, ["verify", str(bad), "--backend", backend])
        assert res.exit_code == 1, res.output
        assert "INVALID" in res.output


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.pop("proof"), "proof"),
        (lambda d: d.__setitem__("format", "other/9"), "format"),
        (lambda d: d.__setitem__("circuit", "nope"), "circuit"),
        (lambda d: d["public_signals"].pop(), "public_signals"),
        (lambda d: d["public_signals"].__setitem__(0, 5), "public_signals[0]"),
    ],
)
def test_malformed_bundle_is_exit_2(
    runner: CliRunner, bundle_file: Path, tmp_path: Path, edit: Callable[[dict[str, object]], object], field: str
) -> None:
    data = json.loads(bundle_file.read_text())
    edit(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    res = runner.invoke(cli, ["verify", str(bad)])
    assert res.exit_code == 2 and field in res.output


def test_verify_pinned_vkey(runner: CliRunner, bundle_file: Path, keys: Callable[[str], CircuitKeys]) -> None:
    res = runner.invoke(cli, ["verify", str(bundle_file), "--vkey", str(keys("liquidation_4").vkey_path)])
    assert res.exit_code == 0
    res = runner.invoke(cli, ["verify", str(bundle_file), "--vkey", str(keys("liquidation_8").vkey_path)])
    assert res.exit_code == 1 and "different verification key" in res.output


def test_prove_with_too_small_ptau_is_exit_2(runner: CliRunner, tmp_path: Path, small_ptaus: tuple[Path, Path]) -> None:
    out = tmp_path / "b.json"
    res = runner.invoke(
        cli, ["prove", LIQ, "--market", MARKET, "--prices", PRICES, "-o", str(out), "--ptau", str(small_ptaus[0])]
    )
    assert res.exit_code == 2 and "too small" in res.output
    assert not out.exists()


def test_json_error_output(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(
        cli,
        [
            "prove",
            str(FIX / "position-healthy.json"),
            "--market",
            MARKET,
            "--prices",
            PRICES,
            "-o",
            str(tmp_path / "b.json"),
            "--json",
        ],
    )
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["ok"] is False and "1.635" in data["error"]


def test_demo(runner: CliRunner, tmp_path: Path, keys: Callable[[str], CircuitKeys]) -> None:
    keys("liquidation_4")
    res = runner.invoke(cli, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "fast: VALID" in res.output and "snarkjs: VALID" in res.output
    assert "has health factor < 1" in res.output
    assert (tmp_path / "liquidation-bundle.json").exists()


def test_verify_onchain_in_process(runner: CliRunner, bundle_file: Path) -> None:
    res = runner.invoke(cli, ["verify", str(bundle_file), "--onchain", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["valid"] and data["backend"] == "evm" and data["verifier_address"].startswith("0x")


def test_gas_and_calldata(runner: CliRunner, bundle_file: Path) -> None:
    res = runner.invoke(cli, ["gas", str(bundle_file), "--json"])
    assert res.exit_code == 0, res.output
    g = json.loads(res.stdout)
    assert g["total"] == g["base"] + g["calldata"] + g["execution"] and g["chain"] == "pyrevm"
    res = runner.invoke(cli, ["calldata", str(bundle_file), "--json"])
    assert res.exit_code == 0
    cd = json.loads(res.stdout)
    assert cd["function"].endswith("uint256[35])") and cd["calldata"].startswith("0x")


def test_onchain_against_anvil(runner: CliRunner, bundle_file: Path, tc: Toolchain, tmp_path: Path) -> None:
    from zkmargin.evm import ANVIL_DEV_KEY, start_anvil

    with start_anvil(tc) as url:
        res = runner.invoke(
            cli, ["verify", str(bundle_file), "--rpc-url", url, "--json"], env={"ZKMARGIN_PRIVATE_KEY": ANVIL_DEV_KEY}
        )
        assert res.exit_code == 0, res.output
        address = json.loads(res.stdout)["verifier_address"]
        # reuse the deployed verifier; no key needed for a call
        res = runner.invoke(cli, ["verify", str(bundle_file), "--rpc-url", url, "--verifier", address])
        assert res.exit_code == 0 and "VALID" in res.output
        res = runner.invoke(
            cli,
            [
                "gas",
                str(bundle_file),
                "--rpc-url",
                url,
                "--verifier",
                address,
                "--json",
                "--private-key",
                ANVIL_DEV_KEY,
            ],
        )
        assert res.exit_code == 0 and json.loads(res.stdout)["chain"] == "rpc"
        data = json.loads(bundle_file.read_text())
        data["public_signals"][0] = str(int(data["public_signals"][0]) + 1)
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(data))
        res = runner.invoke(cli, ["verify", str(bad), "--rpc-url", url, "--verifier", address])
        assert res.exit_code == 1 and "INVALID" in res.output
        # deploying needs a key
        res = runner.invoke(cli, ["verify", str(bundle_file), "--rpc-url", url], env={"ZKMARGIN_PRIVATE_KEY": ""})
        assert res.exit_code == 2 and "--private-key" in res.output


def test_unreachable_rpc_is_exit_2(runner: CliRunner, bundle_file: Path) -> None:
    from zkmargin.evm import free_port

    res = runner.invoke(cli, ["verify", str(bundle_file), "--rpc-url", f"http://127.0.0.1:{free_port()}"])
    assert res.exit_code == 2 and "--rpc-url" in res.output


def test_manifest(runner: CliRunner, bundle_file: Path, tmp_path: Path, keys: Callable[[str], CircuitKeys]) -> None:
    keys("liquidation_8")
    res = runner.invoke(cli, ["build", "liquidation_4", "liquidation_8", "--manifest-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    m4 = json.loads((tmp_path / "liquidation_4.manifest.json").read_text())
    assert m4["circuit"] == "liquidation_4" and m4["constraints"] == CONSTRAINTS["liquidation_4"][0]
    assert set(m4["files_sha256"]) >= {"main.r1cs", "main.wasm", "circuit.zkey", "vkey.json", "verifier.json"}
    assert m4["ptau"]["insecure_dev"] is True and "circom2" in m4["toolchain"]
    res = runner.invoke(cli, ["verify", str(bundle_file), "--manifest", str(tmp_path / "liquidation_4.manifest.json")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["verify", str(bundle_file), "--manifest", str(tmp_path / "liquidation_8.manifest.json")])
    assert res.exit_code == 1 and "is for circuit liquidation_8, not liquidation_4" in res.output
    (tmp_path / "junk.json").write_text('{"format": "other"}')
    res = runner.invoke(cli, ["verify", str(bundle_file), "--manifest", str(tmp_path / "junk.json")])
    assert res.exit_code == 2 and "--manifest" in res.output
