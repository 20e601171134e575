"""The CLI against ordinary mistakes and hostile arguments: exit 2 naming the option, before any
work, nothing written, no traceback; --json answers in JSON on every error; -q and --json after
the subcommand too. Classes are generated (every command, option ranges, path lengths)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkmargin.attestation import MAX_EXPIRY
from zkmargin.bundle import Bundle, decode_claim
from zkmargin.cli.main import cli

from .conftest import FIX

MARKET, PRICES = str(FIX / "market.json"), str(FIX / "prices.json")
LIQ, HEALTHY = str(FIX / "position-liquidatable.json"), str(FIX / "position-healthy.json")
PROVE_ARGS = ["--market", MARKET, "--prices", PRICES]


def assert_bad_input(res: Result, field: str) -> None:
    assert res.exit_code == 2, res.output
    assert field in res.output, res.output
    assert ("Traceback" not in res.output and res.exception is None) or isinstance(res.exception, SystemExit)


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


COMMANDS = _commands(cli)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_answers_usage_errors_in_json(command: tuple[str, ...]) -> None:
    """An unknown option and a missing file: exit 2, and with --json a JSON object on stdout."""
    runner = CliRunner()
    for args in (["--no-such-option"], ["/nonexistent/input.json"]):
        for json_first in (True, False):
            argv = ["--json", *command, *args] if json_first else [*command, *args, "--json"]
            res = runner.invoke(cli, argv)
            assert res.exit_code == 2, (argv, res.output)
            data = json.loads(res.stdout)
            assert data["ok"] is False and data["exit_code"] == 2 and data["error"], argv
            assert "Traceback" not in res.output


def test_output_colliding_with_output_or_input(tmp_path: Path) -> None:
    runner = CliRunner()
    same = tmp_path / "x.json"
    res = runner.invoke(
        cli,
        [
            "liquidate",
            LIQ,
            *PROVE_ARGS,
            "--collateral-asset",
            "WETH",
            "--debt-asset",
            "USDC",
            "--debt-to-cover",
            "max",
            "-o",
            str(same),
            "--new-position",
            str(same),
        ],
    )
    assert_bad_input(res, "--new-position")
    assert not same.exists()
    copy = tmp_path / "position.json"
    copy.write_text(Path(LIQ).read_text())
    (tmp_path / "link.json").hardlink_to(copy)
    for out in (copy, tmp_path / "link.json", tmp_path / "sub" / ".." / "position.json"):
        res = runner.invoke(cli, ["prove", str(copy), *PROVE_ARGS, "-o", str(out)])
        assert_bad_input(res, "--output")
        assert copy.read_text() == Path(LIQ).read_text()
    res = runner.invoke(cli, ["prove", LIQ, *PROVE_ARGS, "-o", MARKET])
    assert_bad_input(res, "is the same file as the input --market")
    res = runner.invoke(cli, ["scan", str(FIX), *PROVE_ARGS, "-o", str(FIX)])
    assert_bad_input(res, "--out")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=1, max_value=600))
def test_output_name_lengths(tmp_path: Path, n: int) -> None:
    """Names past 255 bytes are refused before proving; the limit itself is accepted (checked here
    by `commit -o`, which writes at once)."""
    out = tmp_path / ("é" * (n // 2) + "a" * (n % 2))  # two bytes per é
    res = CliRunner().invoke(cli, ["commit", LIQ, "--market", MARKET, "--new-salt", "-o", str(out)])
    if len(str(out.name).encode()) > 255:
        assert_bad_input(res, "--output")
        assert "at most 255" in res.output
    else:
        assert res.exit_code == 0, res.output
        out.unlink()


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_integer_option_ranges(v: int) -> None:
    """--workers, --nonce, --at, --expiry, --ttl: outside their range exit 2 naming the option, checked
    before the (missing) input file that click reports next."""
    runner = CliRunner()
    missing = "/nonexistent/input.json"  # every case then fails (exit 2) without doing any work
    cases = [
        (["scan", "--workers", str(v), missing, *PROVE_ARGS, "-o", "out"], "--workers", 1, 256),
        (["verify", "--nonce", str(v), missing], "--nonce", 0, 2**64 - 1),
        (["verify", "--at", str(v), missing], "--at", 0, 2**64 - 1),
        (["attest", "--ttl", str(v), missing, *PROVE_ARGS, "--domain", "d", "-o", "a.json"], "--ttl", 1, MAX_EXPIRY),
        (
            ["attest", "--expiry", str(v), missing, *PROVE_ARGS, "--domain", "d", "-o", "a.json"],
            "--expiry",
            0,
            MAX_EXPIRY,
        ),
    ]
    for argv, option, lo, hi in cases:
        res = runner.invoke(cli, argv)
        assert res.exit_code == 2 and "Traceback" not in res.output
        assert (option if not lo <= v <= hi else missing) in res.output, (argv, res.output)


def test_attestation_expiry_must_be_in_the_future(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["attest", HEALTHY, *PROVE_ARGS, "--domain", "d", "-o", str(tmp_path / "a.json")]
    for extra, field in (
        (["--expiry", "1000"], "--expiry"),
        (["--ttl", "-100"], "--ttl"),
        (["--ttl", "0"], "--ttl"),
        (["--expiry", str(MAX_EXPIRY + 1)], "--expiry"),
        (["--ttl", str(MAX_EXPIRY)], "--ttl"),
    ):
        assert_bad_input(runner.invoke(cli, [*base, *extra]), field)
        assert not (tmp_path / "a.json").exists()


def test_verifier_address_is_checked() -> None:
    for addr in ("0x1234", "0xZZ", "0x" + "g" * 40, "1" * 42):
        res = CliRunner().invoke(cli, ["verify", LIQ, "--verifier", addr])
        assert_bad_input(res, "--verifier")


def test_flags_after_the_subcommand(bundle: Bundle, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    bundle.save(path)
    runner = CliRunner()
    for argv in (
        ["verify", str(path), "--json", "-q"],
        ["-q", "--json", "verify", str(path)],
        ["verify", "-q", str(path), "--json"],
    ):
        res = runner.invoke(cli, argv)
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["valid"] is True
    res = runner.invoke(cli, ["calldata", str(path), "--json"])
    args = json.loads(res.stdout)["arguments"]
    assert len(args["pA"]) == 2 and len(args["pB"]) == 2 and len(args["pB"][0]) == 2
    assert len(args["pubSignals"]) == len(bundle.public_signals)
    res = runner.invoke(cli, ["verify", str(path), "--domain", "x"])
    assert_bad_input(res, "--domain")


def test_dev_ptau_warning_is_not_on_stdout(bundle: Bundle, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    bundle.save(path)
    res = CliRunner().invoke(cli, ["verify", str(path)])
    assert res.exit_code == 0 and "WARNING" not in res.stdout and "INSECURE" in res.stderr


def test_any_expiry_a_bundle_can_hold_prints(bundle: Bundle) -> None:
    """A proven expiry is any 64-bit value: printing a claim must not crash past year 9999."""
    claim = decode_claim(bundle)
    far = type(claim)(
        "solvency", "attestation_4", {**claim.signals, "domain": 1, "expiry": 2**64 - 1, "nonce": 0}, claim.symbols
    )
    assert "unix time 18446744073709551615" in far.describe()
