"""`zkmargin devnet`: a local anvil with the pool deployed (up, down, status, time, price, fund),
and the same deployment against any JSON-RPC node (deploy)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from zkmargin import devnet, solidity
from zkmargin.errors import InputError
from zkmargin.evm import ANVIL_DEV_KEY, RpcChain
from zkmargin.limits import PRICE_BITS, PRICE_DECIMALS, RPC_TIMEOUT
from zkmargin.loaders import parse_scaled
from zkmargin.output_paths import check_outputs
from zkmargin.pool import babyjub
from zkmargin.pool import deploy as pool_deploy
from zkmargin.pool.deploy import Deployment, PoolConfig
from zkmargin.settings import Settings

from .common import emit, existing, json_option, output_file, progress_of, toolchain_of

dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ZKMARGIN_DEVNET_DIR",
    help="The devnet's directory: node state, pid file, deployment (env ZKMARGIN_DEVNET_DIR; "
    "default: <data home>/devnet).",
)


def _dir(directory: Path | None) -> Path:
    return directory.expanduser().resolve() if directory is not None else devnet.default_dir()


def _units(n: int, decimals: int) -> str:
    """Base units as a decimal string without trailing zeros (10**8 with 8 -> "1")."""
    whole, frac = divmod(n, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".") if decimals else str(whole)


def _deployment_lines(d: Deployment, prices: dict[str, int | None] | None = None) -> list[str]:
    lines = [f"pool     {d.pool_contract} {d.pool} (chain {d.chain_id}, block {d.block})"]
    for a in d.assets:
        price = prices.get(a.symbol) if prices else None
        shown = f"  price {_units(price, PRICE_DECIMALS)}" if price is not None else ""
        lines.append(f"{a.symbol:<8} token {a.token}  feed {a.feed}{shown}")
    if d.sequencer_feed:
        lines.append(f"sequencer feed {d.sequencer_feed} (grace {d.config.sequencer_grace_period} s)")
    lines.append(f"treasury {d.config.treasury}")
    return lines


def _faucet(config: PoolConfig) -> str:
    return ", ".join(f"{_units(a.faucet, a.decimals)} {a.symbol}" for a in config.assets)


def _prices(url: str, d: Deployment) -> dict[str, int | None]:
    chain = RpcChain(url)
    return {a.symbol: pool_deploy.read_reserve(chain, d, a.symbol).price for a in d.assets}


def parse_public_key(text: str | None, field: str = "--keeper-public-key") -> tuple[int, int] | None:
    """'X,Y' (decimal coordinates, as `zkmargin keeper init` prints them) as a checked Baby Jubjub
    point: on the curve, in the prime-order subgroup, not the identity."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*([0-9]{1,80})\s*,\s*([0-9]{1,80})\s*", text)
    if m is None:
        raise InputError(field, "must be X,Y: the keeper's public key as two decimal coordinates")
    return babyjub.validate_point((int(m.group(1)), int(m.group(2))), field)


keeper_key_option = click.option(
    "--keeper-public-key",
    default=None,
    help="X,Y: the keeper key the pool seals every new note to (`zkmargin keeper init` prints it); "
    "default: the public test key DEV_KEEPER, which anyone can read. Fixed at deployment.",
)


@click.group(name="devnet")
def devnet_group() -> None:
    """A local anvil with the pool deployed from fixtures/devnet.json, kept between commands."""


@devnet_group.command(name="up")
@dir_option
@click.option(
    "--port",
    type=int,
    default=devnet.DEFAULT_PORT,
    show_default=True,
    envvar="ZKMARGIN_DEVNET_PORT",
    help="Port on 127.0.0.1 (env ZKMARGIN_DEVNET_PORT).",
)
@click.option(
    "--config",
    "config_path",
    type=existing,
    default=None,
    help="Deployment config (default: the packaged fixtures/devnet.json on first start, then the one deployed).",
)
@click.option("--fresh", is_flag=True, help="Discard a stopped devnet's chain and deployment and start anew.")
@keeper_key_option
@json_option
@click.pass_context
def devnet_up(
    ctx: click.Context,
    directory: Path | None,
    port: int,
    config_path: Path | None,
    fresh: bool,
    keeper_public_key: str | None,
) -> None:
    """Start anvil (state kept in --dir), deploy tokens, feeds and the pool on first start, mint
    test tokens to the dev accounts; print the RPC URL and the addresses."""
    tc = toolchain_of(ctx)
    progress = progress_of(ctx)
    st = devnet.up(
        _dir(directory),
        port=port,
        config_path=config_path,
        toolchain=tc,
        contracts=lambda: _compile(tc, progress),
        fresh=fresh,
        progress=progress,
        keeper_key=parse_public_key(keeper_public_key),
    )
    assert st.node is not None and st.deployment is not None
    d = st.deployment
    lines = [
        f"devnet running: {st.node.url} (chain {st.chain_id}, block {st.block}, pid {st.node.pid})",
        (
            f"deployed now; {d.config.dev_accounts} dev accounts hold {_faucet(d.config)}"
            if st.deployed_now
            else f"resumed the chain in {st.directory}"
        ),
        *_deployment_lines(d, _prices(st.node.url, d)),
        f"dev account 0 key {ANVIL_DEV_KEY} (anvil's well-known test key)",
        f"directory {st.directory}",
    ]
    if st.stale_pid is not None:
        lines.append(f"(removed the stale pid file of pid {st.stale_pid}, whose process was gone)")
    emit(ctx, {"ok": True, **st.to_json()}, "\n".join(lines))


def _compile(tc: Any, progress: Any) -> dict[str, solidity.Compiled]:
    with progress.step("compiling the contracts"):
        return solidity.compile_reference_contracts(tc)


@devnet_group.command(name="down")
@dir_option
@json_option
@click.pass_context
def devnet_down(ctx: click.Context, directory: Path | None) -> None:
    """Stop the devnet (its state is dumped to --dir first); `up` resumes the same chain."""
    d = _dir(directory)
    node, clean = devnet.down(d, progress_of(ctx))
    if node is None:
        emit(ctx, {"ok": True, "stopped": None}, f"no devnet runs from {d}")
        return
    emit(
        ctx,
        {"ok": True, "stopped": node.pid, "clean": clean},
        f"stopped anvil (pid {node.pid}); state kept in {d}"
        + ("" if clean else " (it did not exit on SIGTERM and was killed: its last changes may be lost)"),
    )


@devnet_group.command(name="status")
@dir_option
@json_option
@click.pass_context
def devnet_status(ctx: click.Context, directory: Path | None) -> None:
    """Whether the devnet runs, its block and time, and its deployment."""
    st = devnet.status(_dir(directory))
    lines = []
    if st.node is None:
        lines.append(f"not running ({st.directory})")
        if st.stale_pid is not None:
            lines.append(f"removed the stale pid file of pid {st.stale_pid}, whose process was gone")
    else:
        lines.append(
            f"running: {st.node.url} (chain {st.chain_id}, block {st.block}, time {st.timestamp}, pid {st.node.pid})"
        )
    if st.deployment is not None:
        prices = _prices(st.node.url, st.deployment) if st.node is not None else None
        lines.extend(_deployment_lines(st.deployment, prices))
    else:
        lines.append("nothing deployed yet")
    emit(ctx, {"ok": True, **st.to_json()}, "\n".join(lines))


@devnet_group.command(name="time", context_settings={"ignore_unknown_options": True})
@click.argument("seconds", metavar="+SECONDS")
@dir_option
@click.option(
    "--stale-prices",
    is_flag=True,
    help="Leave the price feeds alone (they go stale past their max age) instead of re-posting them.",
)
@json_option
@click.pass_context
def devnet_time(ctx: click.Context, seconds: str, directory: Path | None, stale_prices: bool) -> None:
    """Move the chain's clock forward (+3600, 90s, 15m, 12h, 30d) and mine a block. The feeds
    re-post their prices at the new time, as Chainlink feeds do at their heartbeat."""
    n = devnet.parse_duration(seconds, "+SECONDS")
    ts = devnet.warp(_dir(directory), n, refresh_prices=not stale_prices, progress=progress_of(ctx))
    emit(
        ctx,
        {"ok": True, "advanced": n, "timestamp": ts, "pricesRefreshed": not stale_prices},
        f"advanced {n} s; block time now {ts}" + ("" if stale_prices else "; price feeds re-posted"),
    )


@devnet_group.command(name="price")
@click.argument("symbol")
@click.argument("value")
@dir_option
@json_option
@click.pass_context
def devnet_price(ctx: click.Context, symbol: str, value: str, directory: Path | None) -> None:
    """Post a new round of SYMBOL's price feed: VALUE in USD (e.g. 2875.5, at most 8 decimals)."""
    price = parse_scaled(
        value, "VALUE", PRICE_DECIMALS, 1, 2**PRICE_BITS - 1, f"a positive USD price, at most {PRICE_DECIMALS} decimals"
    )
    d = _dir(directory)
    round_id = devnet.set_price(d, symbol, price, progress_of(ctx))
    emit(
        ctx,
        {"ok": True, "symbol": symbol, "price": str(price), "roundId": round_id},
        f"{symbol} = {_units(price, PRICE_DECIMALS)} USD (round {round_id})",
    )


@devnet_group.command(name="fund")
@click.argument("address")
@dir_option
@json_option
@click.pass_context
def devnet_fund(ctx: click.Context, address: str, directory: Path | None) -> None:
    """Mint each asset's test amount to ADDRESS and top its ETH up for gas."""
    to = pool_deploy.parse_address(address, "ADDRESS")
    d = _dir(directory)
    minted, eth = devnet.fund(d, to, progress_of(ctx))
    config = devnet.config_of(d)
    assert config is not None
    shown = ", ".join(f"{_units(n, config.asset(s).decimals)} {s}" for s, n in minted.items())
    emit(
        ctx,
        {"ok": True, "address": to, "minted": {s: str(n) for s, n in minted.items()}, "ethWei": str(eth)},
        f"minted {shown} to {to}; it holds {_units(eth, 18)} ETH",
    )


@devnet_group.command(name="deploy")
@click.option("--rpc-url", required=True, help="The JSON-RPC node to deploy to.")
@click.option(
    "--private-key", envvar="ZKMARGIN_PRIVATE_KEY", required=True, help="Key that pays (env ZKMARGIN_PRIVATE_KEY)."
)
@click.option("--rpc-timeout", type=click.FloatRange(0.1, 600), default=RPC_TIMEOUT, show_default=True)
@click.option("--config", "config_path", type=existing, default=None, help="Deployment config (default: devnet.json).")
@click.option(
    "--deployment",
    "deployment_path",
    type=output_file,
    required=True,
    help="The deployment file: written when deploying, read (and checked) when it exists.",
)
@keeper_key_option
@json_option
@click.pass_context
def devnet_deploy(
    ctx: click.Context,
    rpc_url: str,
    private_key: str,
    rpc_timeout: float,
    config_path: Path | None,
    deployment_path: Path,
    keeper_public_key: str | None,
) -> None:
    """Deploy tokens, feeds and the pool from a config to any node; idempotent per chain."""
    config_file = config_path or pool_deploy.DEFAULT_CONFIG
    check_outputs({"--deployment": deployment_path}, {"--config": config_file})
    config = pool_deploy.load_config(config_file)
    keeper_key = parse_public_key(keeper_public_key)
    chain = RpcChain(rpc_url, private_key, rpc_timeout)
    tc = toolchain_of(ctx)
    progress = progress_of(ctx)
    d, now = pool_deploy.deploy_to_file(
        chain, config, lambda: _compile(tc, progress), deployment_path, progress, Settings(toolchain=tc), keeper_key
    )
    emit(
        ctx,
        {"ok": True, "deployedNow": now, "deployment": d.to_json(), "file": str(deployment_path)},
        "\n".join(
            [
                f"{'deployed' if now else 'already deployed'}: {deployment_path}",
                *_deployment_lines(d, _prices(rpc_url, d)),
            ]
        ),
    )
