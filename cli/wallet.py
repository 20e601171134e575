"""`zkmargin wallet`: the owner's wallet on a PrivateMarginPool (zkmargin.pool.wallet).

Every command but `init` talks to a JSON-RPC node. The defaults work with `zkmargin devnet up`:
the devnet's RPC URL, its deployment file and anvil's first dev key; any other node takes
--rpc-url, --deployment and --private-key (or --key-file).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from zkmargin import devnet
from zkmargin.errors import InputError
from zkmargin.evm import ANVIL_DEV_KEY, RpcChain
from zkmargin.limits import RPC_TIMEOUT
from zkmargin.pool import wallet as pool_wallet
from zkmargin.pool.deploy import Deployment, load_deployment
from zkmargin.settings import Settings

from .common import emit, existing, json_option, progress_of, toolchain_of

_HEX_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}\Z")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")


def _wallet_dir(value: Path | None) -> Path:
    return value.expanduser().resolve() if value is not None else pool_wallet.default_dir()


def _devnet_dir(value: Path | None) -> Path:
    return value.expanduser().resolve() if value is not None else devnet.default_dir()


wallet_dir_option = click.option(
    "--wallet-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ZKMARGIN_WALLET_DIR",
    help="The wallet's directory: keys.json and one note database per pool "
    "(env ZKMARGIN_WALLET_DIR; default: <data home>/wallet).",
)


def chain_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(
        [
            click.option(
                "--rpc-url",
                envvar="ZKMARGIN_RPC_URL",
                help="JSON-RPC node (env ZKMARGIN_RPC_URL; default: the running devnet's).",
            ),
            click.option(
                "--deployment",
                "deployment_file",
                type=existing,
                help="The pool's deployment file (default: the devnet's deployment.json).",
            ),
            click.option(
                "--devnet-dir",
                type=click.Path(file_okay=False, path_type=Path),
                envvar="ZKMARGIN_DEVNET_DIR",
                help="The devnet the defaults come from (env ZKMARGIN_DEVNET_DIR).",
            ),
            click.option(
                "--private-key",
                envvar="ZKMARGIN_PRIVATE_KEY",
                help="Key of the sending account (env ZKMARGIN_PRIVATE_KEY; default on the devnet: "
                "anvil's dev account 0).",
            ),
            click.option(
                "--key-file",
                type=existing,
                help="A file holding the sending account's hex private key (mode 0600), instead of --private-key.",
            ),
            click.option(
                "--rpc-timeout",
                type=click.FloatRange(0.1, 600),
                default=RPC_TIMEOUT,
                show_default=True,
                help="Seconds to wait for each JSON-RPC request.",
            ),
            click.option(
                "--receipt-timeout",
                type=click.FloatRange(1, 3600),
                default=pool_wallet.RECEIPT_TIMEOUT,
                show_default=True,
                help="Seconds to wait for a transaction's receipt (the operation stays pending after).",
            ),
            click.option(
                "--confirmations",
                type=click.IntRange(0, 1000),
                default=0,
                show_default=True,
                help="Blocks below the head before sync applies a block's events.",
            ),
            wallet_dir_option,
        ]
    ):
        f = opt(f)
    return f


def _read_key_file(path: Path) -> str:
    import os
    import stat

    st = os.stat(path)
    if st.st_mode & 0o077:
        raise InputError(
            "--key-file", f"{path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); chmod 600 it"
        )
    text = path.read_text(errors="replace").strip()
    if not _HEX_KEY.fullmatch(text):
        raise InputError("--key-file", f"{path} must hold one 32-byte hex private key")
    return text


def deployment_of(deployment_file: Path | None, devnet_dir: Path | None) -> Deployment:
    """The pool's deployment (checked to be a PrivateMarginPool before any node is asked)."""
    if deployment_file is None:
        deployment_file = devnet.Layout(_devnet_dir(devnet_dir)).deployment
        if not deployment_file.exists():
            raise InputError("--deployment", f"no deployment file given and no devnet deployment at {deployment_file}")
    d = load_deployment(deployment_file)
    pool_wallet.check_deployment(d)
    return d


def open_chain(opts: dict[str, Any]) -> RpcChain:
    """The node and the sending account from the chain options (--rpc-url or the running devnet;
    --private-key, --key-file, or on the devnet anvil's dev account 0)."""
    url = opts["rpc_url"]
    on_devnet = False
    if url is None:
        st = devnet.status(_devnet_dir(opts["devnet_dir"]))
        if st.node is None:
            raise InputError("--rpc-url", "no node given and no devnet running (`zkmargin devnet up` starts one)")
        url, on_devnet = st.node.url, True
    if opts["private_key"] is not None and opts["key_file"] is not None:
        raise InputError("--key-file", "pass --private-key or --key-file, not both")
    key = opts["private_key"]
    if opts["key_file"] is not None:
        key = _read_key_file(opts["key_file"])
    if key is None and on_devnet:
        key = ANVIL_DEV_KEY
    if key is not None and not _HEX_KEY.fullmatch(key):
        raise InputError("--private-key", "must be a 32-byte hex private key (64 hex digits)")
    return RpcChain(url, key, opts["rpc_timeout"])


def _open(ctx: click.Context, opts: dict[str, Any], deployment: Deployment | None = None) -> pool_wallet.Wallet:
    deployment = deployment or deployment_of(opts["deployment_file"], opts["devnet_dir"])
    chain = open_chain(opts)
    return pool_wallet.Wallet(
        _wallet_dir(opts["wallet_dir"]),
        chain,
        deployment,
        settings=Settings(toolchain=toolchain_of(ctx), progress=progress_of(ctx)),
        progress=progress_of(ctx),
        confirmations=opts["confirmations"],
        receipt_timeout=opts["receipt_timeout"],
    )


def parse_amount(text: str, decimals: int, field: str = "AMOUNT") -> int:
    """'1.5' of an 18-decimal token -> 1.5e18 base units; no more decimals than the token has."""
    if not re.fullmatch(r"[0-9]{1,40}(\.[0-9]{1,18})?", text):
        raise InputError(field, f"must be a positive decimal number of tokens (e.g. 1.5), got {text[:40]!r}")
    try:
        value = Decimal(text) * (Decimal(10) ** decimals)
    except InvalidOperation:
        raise InputError(field, f"not a number: {text[:40]!r}") from None
    if value != value.to_integral_value():
        raise InputError(field, f"has more than the token's {decimals} decimals")
    n = int(value)
    if not 0 < n < 2**128:
        raise InputError(field, "must be positive and below 2^128 base units")
    return n


def units(n: int, decimals: int) -> str:
    whole, frac = divmod(n, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".") if decimals else str(whole)


def _pct(ppm: int | None) -> str:
    return "-" if ppm is None else f"{ppm / 10_000:.4f}%"


def _hf(hf: int | None) -> str:
    return "no debt" if hf is None else units(hf, 18)


def _note_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--note",
        "note",
        help="The note to spend, by commitment (default: the wallet's only live note).",
    )(f)


def _commitment(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 80:
        raise InputError("--note", "must be a note commitment (a decimal field element, as `wallet show` prints it)")
    return int(value)


@click.group(name="wallet")
def wallet_group() -> None:
    """The owner's wallet: private notes on a PrivateMarginPool, kept in a local database."""


@wallet_group.command(name="init")
@wallet_dir_option
@click.option(
    "--deployment",
    "deployment_file",
    type=existing,
    help="Also create the note database for this pool (default: the devnet's, if there is one).",
)
@click.option("--devnet-dir", type=click.Path(file_okay=False, path_type=Path), envvar="ZKMARGIN_DEVNET_DIR")
@json_option
@click.pass_context
def wallet_init(
    ctx: click.Context, wallet_dir: Path | None, deployment_file: Path | None, devnet_dir: Path | None
) -> None:
    """Create the owner's keys (keys.json, mode 0600; never overwritten) and the note database."""
    directory = _wallet_dir(wallet_dir)
    deployment = None
    if deployment_file is not None:
        deployment = load_deployment(deployment_file)
    elif devnet.Layout(_devnet_dir(devnet_dir)).deployment.exists():
        deployment = load_deployment(devnet.Layout(_devnet_dir(devnet_dir)).deployment)
    keys_path, db = pool_wallet.init(directory, deployment)
    lines = [f"wrote {keys_path} (mode 600): the seed is the wallet; back it up, never share it"]
    if db is not None:
        lines.append(f"created {db}")
    else:
        lines.append("no deployment yet: the note database is created on first use")
    emit(ctx, {"ok": True, "keys": str(keys_path), "database": None if db is None else str(db)}, "\n".join(lines))


def _op_command(kind: str, doc: str, pays_out: bool) -> click.Command:
    @click.argument("asset")
    @click.argument("amount")
    @chain_options
    @_note_option
    @json_option
    @click.pass_context
    def command(ctx: click.Context, /, asset: str, amount: str, note: str | None, **opts: Any) -> None:
        to = opts.pop("to", None)
        new_note = opts.pop("new_note", False)
        if to is not None and not _ADDRESS.fullmatch(to):
            raise InputError("--to", "must be a 20-byte address: 0x followed by 40 hex digits")
        deployment = deployment_of(opts["deployment_file"], opts["devnet_dir"])
        decimals = deployment.config.asset(asset, "ASSET").decimals
        base_units = parse_amount(amount, decimals)
        commitment = _commitment(note)
        with _open(ctx, opts, deployment) as w:
            res = w.operate(kind, asset, base_units, recipient=to, note=commitment, new_note=new_note)
        moved = f"{units(res.amount, decimals)} {asset}"
        where = f" to {res.recipient}" if res.recipient else ""
        human = (
            f"{res.kind} {moved}{where}: transaction {res.tx_hash} in block {res.block} "
            f"(gas {res.gas_used}, block time {res.timestamp})\nnew note {res.new_commitment}"
        )
        emit(ctx, {"ok": True, **res.to_json()}, human)

    command.__doc__ = doc
    if pays_out:
        command = click.option("--to", help="Recipient of the tokens (default: the sending account).")(command)
    if kind == "deposit":
        command = click.option(
            "--new-note", is_flag=True, help="Open a second note instead of adding to the one held."
        )(command)
    return wallet_group.command(name=kind)(command)


wallet_deposit = _op_command(
    "deposit", "Supply AMOUNT tokens of ASSET to the note (opens one if the wallet has none).", False
)
wallet_withdraw = _op_command("withdraw", "Withdraw AMOUNT of ASSET from the note's collateral.", True)
wallet_borrow = _op_command("borrow", "Borrow AMOUNT of ASSET against the note.", True)
wallet_repay = _op_command("repay", "Repay AMOUNT of the note's ASSET debt.", False)


@wallet_group.command(name="sync")
@chain_options
@json_option
@click.pass_context
def wallet_sync(ctx: click.Context, /, **opts: Any) -> None:
    """Apply the pool's events to the note store: settles pending operations, restores notes
    sealed to this wallet's viewing key (a fresh database restores every note)."""
    with _open(ctx, opts) as w:
        r = w.sync()
    lines = [f"synced to block {r.block}: {r.live_notes} live note(s), {r.applied_blocks} block(s) applied"]
    if r.rolled_back_to is not None:
        lines.append(f"reorg: rolled back to block {r.rolled_back_to}")
    if r.abandoned:
        lines.append(f"{r.abandoned} operation(s) that never reached the chain dropped")
    if r.rebroadcast:
        lines.append(f"{r.rebroadcast} transaction(s) rebroadcast")
    for h in r.pending:
        lines.append(f"pending: {h}")
    emit(ctx, {"ok": True, **r.to_json()}, "\n".join(lines))


@wallet_group.command(name="show")
@chain_options
@json_option
@click.pass_context
def wallet_show(ctx: click.Context, /, **opts: Any) -> None:
    """Each note's balances at the current indexes, health factor, borrowing power left and how far
    prices can fall before liquidation."""
    with _open(ctx, opts) as w:
        w.sync()
        reports = w.show()
    lines: list[str] = []
    if not reports:
        lines.append("no notes: `zkmargin wallet deposit ASSET AMOUNT` opens one")
    for rep in reports:
        lines.append(f"note {rep.commitment} (leaf {rep.leaf_index}, {rep.status}, block time {rep.timestamp})")
        for a in rep.assets:
            if not (a.supplied or a.borrowed):
                continue
            liq = (
                f"; liquidation at {units(a.liquidation_price, 8)} USD ({_pct(a.drop_ppm)} drop)"
                if a.liquidation_price is not None
                else ""
            )
            lines.append(
                f"  {a.symbol:<6} supplied {units(a.supplied, a.decimals)}{' (collateral)' if a.collateral else ''}"
                f"  borrowed {units(a.borrowed, a.decimals)}  price {units(a.price, 8)}{liq}"
            )
        lines.append(
            f"  collateral {units(rep.total_collateral, 8)} USD  debt {units(rep.total_debt, 8)} USD  "
            f"health factor {_hf(rep.health_factor)}  can borrow {units(rep.borrowing_power_left, 8)} USD more"
        )
        if rep.health_factor is not None:
            lines.append(f"  liquidated if every collateral price falls by {_pct(rep.uniform_drop_ppm)}")
    emit(ctx, {"ok": True, "notes": [r.to_json() for r in reports]}, "\n".join(lines))
