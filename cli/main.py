"""`zkmargin`: the click group and its commands, one module per command group. The CLI only
parses arguments, calls the library and maps exceptions to exit codes (cli/common.py)."""

from __future__ import annotations

from pathlib import Path

import click

from zkmargin import prover

from . import ceremony, devnet, keeper, lending, perp, setup, verify, wallet
from .common import ZkGroup, json_option


@click.group(cls=ZkGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--node", envvar="ZKMARGIN_NODE", help="node executable (default: node on PATH).")
@click.option(
    "--node-modules",
    envvar="ZKMARGIN_NODE_MODULES",
    type=click.Path(file_okay=False, path_type=Path),
    help="node_modules with the pinned packages (default: what `zkmargin setup` installed).",
)
@click.option(
    "--prover",
    type=click.Choice(prover.BACKENDS),
    envvar="ZKMARGIN_PROVER",
    help="Proving backend: c (the C prover, the default when a C compiler is available) or snarkjs.",
)
@json_option
@click.version_option(package_name="zkmargin")
@click.pass_context
def cli(ctx: click.Context, node: str | None, node_modules: Path | None, prover: str | None) -> None:
    """Zero-knowledge liquidation proofs for committed lending positions."""


for command in (
    setup.setup,
    setup.doctor,
    setup.build_cmd,
    setup.demo,
    lending.commit,
    lending.health,
    lending.prove,
    lending.attest,
    lending.liquidate,
    lending.scan_cmd,
    verify.verify,
    verify.verify_batch,
    verify.gas,
    verify.calldata_cmd,
    perp.perp_group,
    ceremony.ceremony_group,
    devnet.devnet_group,
    wallet.wallet_group,
    keeper.keeper_group,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="zkmargin")


if __name__ == "__main__":
    main()
