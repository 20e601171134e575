"""`zkmargin keeper`: a liquidation keeper on a PrivateMarginPool (zkmargin.pool.keeper).

`keeper init` writes a keeper key file and prints its public key (the pool is deployed with it:
`zkmargin devnet up|deploy --keeper-public-key X,Y`, and seals every note to it); `keeper run`
follows the pool and liquidates every failing note. Chain options as the wallet's (defaults: the
running devnet).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from zkmargin.errors import InputError
from zkmargin.limits import RPC_TIMEOUT
from zkmargin.pool import keeper as pool_keeper
from zkmargin.pool import wallet as pool_wallet
from zkmargin.pool.keys import KeeperKeys, load_keeper_keys, write_key_file
from zkmargin.settings import Settings

from .common import emit, existing, json_option, progress_of, toolchain_of
from .wallet import deployment_of, open_chain

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")


@click.group(name="keeper")
def keeper_group() -> None:
    """A keeper: reads every note (sealed to the pool's keeper key) and liquidates the failing ones."""


@keeper_group.command(name="init")
@click.option(
    "--keeper-key",
    "keeper_key",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the keeper's key file (mode 0600; never over an existing file).",
)
@json_option
@click.pass_context
def keeper_init(ctx: click.Context, keeper_key: Path) -> None:
    """Create a keeper key; prints the public key to deploy the pool with (--keeper-public-key)."""
    keys = KeeperKeys.generate()
    write_key_file(keeper_key, keys)
    x, y = keys.public
    emit(
        ctx,
        {"ok": True, "keeperKey": str(keeper_key), "publicKey": [str(x), str(y)]},
        f"wrote {keeper_key} (mode 600)\npublic key {x},{y}",
    )


def _status_line(e: dict[str, Any]) -> str:
    return (
        f"keeper: block {e['block']} (head {e['head']})  tracked {e['tracked']}  "
        f"liquidatable {e['liquidatable']}  proofs in flight {e['inFlight']}"
    )


def _human(e: dict[str, Any]) -> str | None:
    kind = e["event"]
    if kind == "liquidation":
        return (
            f"liquidated note {e['note']}: repaid {e['debtRepaid']} {e['debtAsset']}, received "
            f"{e['collateralToLiquidator']} {e['collateralAsset']} (fee {e['protocolFee']}, deficit "
            f"{'/'.join(e['deficit'])}); transaction {e['txHash']} in block {e['block']} (gas {e['gasUsed']}, "
            f"proof {e['provingSeconds']} s)"
        )
    if kind in ("lost", "refused", "stale", "pending"):
        return f"{kind}: note {e['note']}: {e.get('reason') or e.get('error') or e.get('txHash')}"
    return None


@keeper_group.command(name="run")
@click.option("--rpc-url", envvar="ZKMARGIN_RPC_URL", help="JSON-RPC node (default: the running devnet's).")
@click.option(
    "--deployment", "deployment_file", type=existing, help="The pool's deployment file (default: the devnet's)."
)
@click.option("--devnet-dir", type=click.Path(file_okay=False, path_type=Path), envvar="ZKMARGIN_DEVNET_DIR")
@click.option("--private-key", envvar="ZKMARGIN_PRIVATE_KEY", help="The liquidator's key (it pays the debt repaid).")
@click.option("--key-file", type=existing, help="A file (mode 0600) holding the liquidator's hex private key.")
@click.option("--keeper-key", "keeper_key", type=existing, required=True, help="The keeper's key file (`keeper init`).")
@click.option(
    "--db", "db", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The keeper's SQLite state."
)
@click.option("--from-block", type=click.IntRange(0), help="First block to follow (default: the pool's deployment).")
@click.option(
    "--confirmations",
    type=click.IntRange(0, 1000),
    default=pool_keeper.DEFAULT_CONFIRMATIONS,
    show_default=True,
    help="Blocks below the head before a block's events are applied (a shallower reorg cannot corrupt the state).",
)
@click.option("--recipient", help="Where the seized collateral goes (default: the liquidator's address).")
@click.option(
    "--share",
    default="0/1",
    show_default=True,
    help="I/N: with N keepers, this one takes first the notes whose nullifier is I mod N, then the rest.",
)
@click.option("--once", is_flag=True, help="One run: liquidate what is failing now, then exit.")
@click.option(
    "--poll",
    type=click.FloatRange(0.05, 600),
    default=pool_keeper.POLL_SECONDS,
    show_default=True,
    help="Seconds between head checks.",
)
@click.option("--rpc-timeout", type=click.FloatRange(0.1, 600), default=RPC_TIMEOUT, show_default=True)
@click.option(
    "--receipt-timeout", type=click.FloatRange(1, 3600), default=pool_wallet.RECEIPT_TIMEOUT, show_default=True
)
@json_option
@click.pass_context
def keeper_run(ctx: click.Context, /, **opts: Any) -> None:
    """Follow the pool; on every new block prove and send the liquidation of each failing note it can
    read, most profitable first. --json: one JSON event per line on stdout; a status line on stderr."""
    recipient = opts["recipient"]
    if recipient is not None and not _ADDRESS.fullmatch(recipient):
        raise InputError("--recipient", "must be a 20-byte address: 0x followed by 40 hex digits")
    m = re.fullmatch(r"([0-9]{1,4})/([0-9]{1,4})", opts["share"])
    if m is None or not int(m.group(1)) < int(m.group(2)):
        raise InputError("--share", "must be I/N with 0 <= I < N (e.g. 1/2)")
    share = (int(m.group(1)), int(m.group(2)))
    deployment = deployment_of(opts["deployment_file"], opts["devnet_dir"])
    keys = load_keeper_keys(opts["keeper_key"])
    chain = open_chain(opts)
    as_json = bool(ctx.find_root().meta.get("json"))
    quiet = bool(ctx.find_root().meta.get("quiet"))

    def on_event(e: dict[str, Any]) -> None:
        if e["event"] in ("status", "pass") and not quiet:
            click.echo(_status_line(e), err=True)
        if as_json:
            click.echo(json.dumps(e))
            sys.stdout.flush()
        elif (line := _human(e)) is not None:
            click.echo(line)

    settings = Settings(toolchain=toolchain_of(ctx), progress=progress_of(ctx))
    with pool_keeper.Keeper(
        chain,
        deployment,
        keys,
        opts["db"],
        from_block=opts["from_block"],
        confirmations=opts["confirmations"],
        recipient=recipient,
        settings=settings,
        receipt_timeout=opts["receipt_timeout"],
        on_event=on_event,
        share=share,
    ) as keeper:
        keeper.run(once=opts["once"], poll=opts["poll"])
