"""Lending commands for owners and liquidators: commit, health, prove, attest, liquidate, scan."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from zkmargin import registry, scan
from zkmargin.commitment import commitment, to_hex
from zkmargin.errors import InputError
from zkmargin.fsutil import write_json_atomic
from zkmargin.loaders import (
    load_market,
    load_prices,
    parse_threshold,
    position_from_json,
    position_to_json,
    read_json,
    salted_position_json,
)
from zkmargin.model import evaluate, format_wad, rules_label
from zkmargin.output_paths import check_outputs
from zkmargin.statements import lending, step

from .common import (
    EXIT_BAD_INPUT,
    EXIT_FALSE,
    EXIT_OK,
    attestation_context,
    attestation_options,
    emit,
    existing,
    json_option,
    load_lending,
    output_file,
    proving_inputs,
    ptau_option,
    save_and_report,
    settings_of,
)

MAX_WORKERS = 256


@click.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--new-salt", is_flag=True, help="Draw a fresh salt (from the OS CSPRNG) and write it with -o.")
@click.option(
    "-o", "--output", type=output_file, help="Where to write the salted position (needed when a salt is drawn)."
)
@json_option
@click.pass_context
def commit(ctx: click.Context, position_file: Path, market_file: Path, new_salt: bool, output: Path | None) -> None:
    """Print the Poseidon commitment of a position (drawing a salt if it has none)."""
    check_outputs({"--output": output}, {"POSITION": position_file, "--market": market_file})
    market = load_market(market_file)
    raw, drew = salted_position_json(read_json(position_file, "position"), new_salt)
    if drew and output is None:
        raise InputError("--output", "a fresh salt was drawn: pass -o FILE to keep the salted position")
    position = position_from_json(raw, market)
    spec = registry.for_assets("liquidation", len(market.assets))
    com = commitment(position, market, spec.n_assets)
    if drew and output is not None:
        write_json_atomic(output, raw)
    payload = {
        "ok": True,
        "commitment": to_hex(com),
        "commitment_decimal": str(com),
        "slots": spec.n_assets,
        "salted_position": str(output) if drew else None,
    }
    human = f"commitment {to_hex(com)} ({spec.n_assets} slots, layout zkmargin/lending/v2)"
    if drew:
        human += f"\nsalted position written to {output} (keep it secret: it opens the commitment)"
    emit(ctx, payload, human)


@click.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True)
@click.option("--prices", "prices_file", type=existing, required=True)
@click.option("--threshold", default="1.0", show_default=True, help="Health-factor threshold.")
@json_option
@click.pass_context
def health(ctx: click.Context, position_file: Path, market_file: Path, prices_file: Path, threshold: str) -> None:
    """Evaluate a position with the reference model (no proof). Exit 0 if HF < threshold, else 1."""
    position, market, prices = load_lending(position_file, market_file, prices_file)
    t = parse_threshold(threshold)
    h = evaluate(position, market, prices)
    below = h.is_below(t)
    payload = {
        "ok": True,
        "health_factor": str(h.health_factor),
        "health_factor_decimal": format_wad(h.health_factor),
        "threshold": str(t),
        "liquidatable": below,
        "total_collateral_base": str(h.total_collateral),
        "total_debt_base": str(h.total_debt),
        "rules": market.rules,
    }
    verdict = "below threshold: liquidatable" if below else "at or above threshold: not liquidatable"
    emit(
        ctx,
        payload,
        f"health factor {format_wad(h.health_factor)} ({rules_label(market.rules)} rules), "
        f"threshold {format_wad(t)}: {verdict}",
    )
    ctx.exit(EXIT_OK if below else EXIT_FALSE)


@click.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--prices", "prices_file", type=existing, required=True, help="Price snapshot JSON.")
@click.option("--threshold", default="1.0", show_default=True, help="Prove HF < this (decimal, e.g. 1.0).")
@click.option("-o", "--output", type=output_file, required=True, help="Bundle to write.")
@ptau_option()
@json_option
@click.pass_context
def prove(
    ctx: click.Context,
    position_file: Path,
    market_file: Path,
    prices_file: Path,
    threshold: str,
    output: Path,
    ptau: Path | None,
) -> None:
    """Prove that a committed position is liquidatable (HF < threshold) and write a bundle."""
    check_outputs({"--output": output}, proving_inputs(position_file, market_file, prices_file, ptau))
    position, market, prices = load_lending(position_file, market_file, prices_file)
    t = parse_threshold(threshold)
    bundle = lending.prove_liquidation(position, market, prices, t, settings_of(ctx, ptau))
    save_and_report(ctx, bundle, output, market.symbols)


@click.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--prices", "prices_file", type=existing, required=True, help="Price snapshot JSON.")
@click.option("--min-hf", default="1.0", show_default=True, help="Prove HF >= this (decimal).")
@attestation_options
@json_option
@click.pass_context
def attest(
    ctx: click.Context,
    position_file: Path,
    market_file: Path,
    prices_file: Path,
    min_hf: str,
    domain: str,
    expiry: int | None,
    ttl: int,
    nonce: int | None,
    output: Path,
    ptau: Path | None,
) -> None:
    """Prove that a committed position is solvent (HF >= --min-hf) for one verifier, until an expiry."""
    check_outputs({"--output": output}, proving_inputs(position_file, market_file, prices_file, ptau))
    position, market, prices = load_lending(position_file, market_file, prices_file)
    t = parse_threshold(min_hf, "--min-hf")
    bundle = lending.attest_solvency(
        position, market, prices, t, attestation_context(domain, expiry, ttl, nonce), settings_of(ctx, ptau)
    )
    save_and_report(ctx, bundle, output, market.symbols)


@click.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--prices", "prices_file", type=existing, required=True, help="Price snapshot JSON.")
@click.option("--collateral-asset", required=True, help="Collateral to seize (symbol).")
@click.option("--debt-asset", required=True, help="Debt to repay (symbol).")
@click.option("--debt-to-cover", required=True, help="Debt to repay, token base units ('max' for all allowed).")
@click.option(
    "--receive-atoken",
    is_flag=True,
    help="The liquidator takes the collateral as aTokens (Aave's receiveAToken): no burn of it.",
)
@click.option("-o", "--output", type=output_file, required=True, help="Bundle to write.")
@click.option(
    "--new-position",
    type=output_file,
    required=True,
    help="Where to write the position after the liquidation (its opening: keep it secret).",
)
@ptau_option()
@json_option
@click.pass_context
def liquidate(
    ctx: click.Context,
    position_file: Path,
    market_file: Path,
    prices_file: Path,
    collateral_asset: str,
    debt_asset: str,
    debt_to_cover: str,
    receive_atoken: bool,
    output: Path,
    new_position: Path,
    ptau: Path | None,
) -> None:
    """Prove one Aave liquidation call (the market's rules) on a committed position (old -> new commitment)."""
    check_outputs(
        {"--output": output, "--new-position": new_position},
        proving_inputs(position_file, market_file, prices_file, ptau),
    )
    position, market, prices = load_lending(position_file, market_file, prices_file)
    amount = step.parse_debt_to_cover(debt_to_cover)
    bundle, after = step.prove_liquidation_step(
        position,
        market,
        prices,
        collateral_asset,
        debt_asset,
        amount,
        receive_atoken=receive_atoken,
        settings=settings_of(ctx, ptau),
    )
    write_json_atomic(new_position, position_to_json(after, market))
    save_and_report(ctx, bundle, output, market.symbols, new_position=str(new_position))


@click.command(name="scan")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--prices", "prices_file", type=existing, required=True, help="Price snapshot JSON.")
@click.option("--threshold", default="1.0", show_default=True, help="Prove HF < this.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for one bundle per liquidatable position and scan-report.json.",
)
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), help="Warm prover workers (default: one per core).")
@ptau_option()
@click.option(
    "--ray",
    "ray_address",
    metavar="ADDRESS",
    help="Prove on the Ray cluster at HOST:PORT, or 'auto' for a "
    "local one; --workers is then proofs at once per node (needs pip install 'zkmargin[ray]').",
)
@json_option
@click.pass_context
def scan_cmd(
    ctx: click.Context,
    source: Path,
    market_file: Path,
    prices_file: Path,
    threshold: str,
    out_dir: Path,
    workers: int | None,
    ptau: Path | None,
    ray_address: str | None,
) -> None:
    """Evaluate every position in SOURCE (a directory of position files, or one JSON file of
    positions) and prove the liquidatable ones with warm provers; resumes an interrupted scan.
    Exit 0, or 2 if some positions could not be read (the others are still processed)."""
    check_outputs(
        {"--out": out_dir},
        {"SOURCE": source, "--market": market_file, "--prices": prices_file, "--ptau": ptau},
        directories=frozenset({"--out"}),
    )
    market = load_market(market_file)
    prices = load_prices(prices_file, market)
    t = parse_threshold(threshold)
    show = not ctx.meta.get("json") and not ctx.meta.get("quiet")
    bars: list[Any] = []

    def start(total: int) -> None:
        if show:
            bars.append(click.progressbar(length=total, label="scanning positions", file=sys.stderr))
            bars[0].__enter__()

    try:
        report = scan.scan(
            source,
            market,
            prices,
            out_dir,
            t,
            settings_of(ctx, ptau),
            workers=workers,
            on_start=start,
            on_item=lambda item: bars[0].update(1) if bars else None,
            ray=ray_address,
            ray_status=None if ctx.find_root().meta.get("quiet") else sys.stderr,
        )
    finally:
        if bars:
            bars[0].__exit__(None, None, None)
    data = report.to_json()
    human = (
        f"scanned {data['scanned']}: {data['proven']} proven, {data['resumed']} already proven, "
        f"{data['healthy']} healthy, {data['errors']} unreadable; bundles in {out_dir}"
    )
    for item in report.items:
        if item.status == "error":
            human += f"\n  {item.name}: {item.error}"
    emit(ctx, {"ok": data["errors"] == 0, **data}, human)
    ctx.exit(EXIT_BAD_INPUT if data["errors"] else EXIT_OK)
