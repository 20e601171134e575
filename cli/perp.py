"""`zkmargin perp`: cross-margin perpetual accounts (health, prove, attest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from zkmargin import perp
from zkmargin.output_paths import check_outputs
from zkmargin.statements import perp as statement

from .common import (
    EXIT_FALSE,
    EXIT_OK,
    attestation_context,
    attestation_options,
    emit,
    existing,
    json_option,
    output_file,
    ptau_option,
    save_and_report,
    settings_of,
)


def perp_files(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--prices", "prices_file", type=existing, required=True, help="Perp prices and funding indices JSON."
    )(f)
    f = click.option("--markets", "markets_file", type=existing, required=True, help="Perp markets JSON.")(f)
    return click.argument("account_file", type=existing)(f)


def load_perp(
    account_file: Path, markets_file: Path, prices_file: Path
) -> tuple[perp.PerpAccount, perp.PerpMarkets, dict[str, perp.PerpQuote]]:
    markets = perp.load_markets(markets_file)
    return perp.load_account(account_file, markets), markets, perp.load_quotes(prices_file, markets)


def _inputs(account: Path, markets: Path, prices: Path, ptau: Path | None) -> dict[str, Path | None]:
    return {"ACCOUNT": account, "--markets": markets, "--prices": prices, "--ptau": ptau}


@click.group(name="perp")
def perp_group() -> None:
    """dYdX v4 cross-margin subaccounts: net collateral against maintenance margin."""


@perp_group.command(name="health")
@perp_files
@json_option
@click.pass_context
def perp_health(ctx: click.Context, account_file: Path, markets_file: Path, prices_file: Path) -> None:
    """Net collateral and maintenance margin from the model, dYdX v4 rules (no proof). Exit 0 if
    liquidatable (MMR > 0 and TNC < MMR), else 1."""
    account, markets, quotes = load_perp(account_file, markets_file, prices_file)
    m = perp.evaluate(account, markets, quotes)
    below = m.liquidatable
    emit(
        ctx,
        {
            "ok": True,
            "net_collateral": str(m.net_collateral),
            "maintenance_margin": str(m.maintenance),
            "initial_margin": str(m.initial),
            "funding_settlement": str(m.settlement),
            "liquidatable": below,
            "notional": {k: str(v) for k, v in m.notional.items()},
        },
        f"net collateral {m.net_collateral} vs maintenance margin {m.maintenance} (quote quantums, 1e-6 USDC; "
        f"funding settled {m.settlement}): " + ("liquidatable" if below else "not liquidatable"),
    )
    ctx.exit(EXIT_OK if below else EXIT_FALSE)


@perp_group.command(name="prove")
@perp_files
@click.option("-o", "--output", type=output_file, required=True, help="Bundle to write.")
@ptau_option()
@json_option
@click.pass_context
def perp_prove(
    ctx: click.Context, account_file: Path, markets_file: Path, prices_file: Path, output: Path, ptau: Path | None
) -> None:
    """Prove a committed dYdX v4 subaccount is liquidatable (MMR > 0 and TNC < MMR)."""
    check_outputs({"--output": output}, _inputs(account_file, markets_file, prices_file, ptau))
    account, markets, quotes = load_perp(account_file, markets_file, prices_file)
    bundle = statement.prove_perp_liquidation(account, markets, quotes, settings=settings_of(ctx, ptau))
    save_and_report(ctx, bundle, output, markets.symbols)


@perp_group.command(name="attest")
@perp_files
@click.option("--ratio", default="1.0", show_default=True, help="Prove net collateral >= ratio x maintenance margin.")
@attestation_options
@json_option
@click.pass_context
def perp_attest(
    ctx: click.Context,
    account_file: Path,
    markets_file: Path,
    prices_file: Path,
    ratio: str,
    domain: str,
    expiry: int | None,
    ttl: int,
    nonce: int | None,
    output: Path,
    ptau: Path | None,
) -> None:
    """Prove a committed dYdX v4 subaccount holds net collateral >= ratio x maintenance margin."""
    check_outputs({"--output": output}, _inputs(account_file, markets_file, prices_file, ptau))
    account, markets, quotes = load_perp(account_file, markets_file, prices_file)
    bundle = statement.attest_perp_margin(
        account,
        markets,
        quotes,
        perp.parse_ratio(ratio),
        attestation_context(domain, expiry, ttl, nonce),
        settings_of(ctx, ptau),
    )
    save_and_report(ctx, bundle, output, markets.symbols)
