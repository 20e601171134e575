"""`zkmargin`: the click group and its commands, one module per command group. The CLI only
parses arguments, calls the library and maps exceptions to exit codes (cli/common.py)."""

from __future__ import annotations

from pathlib import Path

import click

from zkmargin import prover
from zkmargin.errors import ToolchainError

from . import ceremony, lending, perp, setup, verify
from .common import ZkGroup, json_option

# The evm extra's packages (web3, eth-account, pyrevm and what they bring): the core install proves
# and verifies without them, so the commands that talk to a chain say what to install instead.
_EVM_EXTRA = {"web3", "eth_account", "pyrevm", "rlp", "eth_keys"}


def _needs_evm(name: str, missing: str) -> click.Command:
    """A stand-in for a command group whose modules need the evm extra: exit 2 naming it."""

    @click.command(
        name,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
        help=f"(needs the evm extra: pip install 'zkmargin[evm]'; {missing} is missing)",
    )
    def stand_in() -> None:
        raise ToolchainError(f"zkmargin {name} needs the evm extra: pip install 'zkmargin[evm]' ({missing} is missing)")

    return stand_in


def _chain_commands() -> list[click.Command]:
    try:
        from . import devnet, keeper, wallet
    except ImportError as e:
        if (e.name or "").split(".")[0] not in _EVM_EXTRA:
            raise
        return [_needs_evm(name, str(e.name)) for name in ("devnet", "wallet", "keeper")]
    return [devnet.devnet_group, wallet.wallet_group, keeper.keeper_group]


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
    *_chain_commands(),
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="zkmargin")


if __name__ == "__main__":
    main()
