"""`zkmargin ceremony`: a multi-party phase-2 ceremony (start, contribute, beacon, verify, install)
and checking a public powers-of-tau file."""

from __future__ import annotations

from pathlib import Path

import click

from zkmargin import ceremony, registry
from zkmargin.output_paths import check_outputs

from .common import EXIT_FALSE, EXIT_OK, emit, existing, json_option, output_file, ptau_option, toolchain_of


@click.group(name="ceremony")
def ceremony_group() -> None:
    """Multi-party phase-2 ceremony: start, contribute, beacon, verify, install."""


@ceremony_group.command(name="start")
@click.argument("circuit")
@ptau_option(required=True)
@click.option("-o", "--output", type=output_file, required=True)
@json_option
@click.pass_context
def ceremony_start(ctx: click.Context, circuit: str, ptau: Path, output: Path) -> None:
    """Initial zkey (no contribution yet) for CIRCUIT from a prepared ptau."""
    check_outputs({"--output": output}, {"--ptau": ptau})
    compiled = ceremony.start(registry.get(circuit), ptau, output, toolchain_of(ctx))
    emit(
        ctx,
        {"ok": True, "zkey": str(output), "constraints": compiled.n_constraints},
        f"wrote {output} ({compiled.n_constraints} constraints); next: zkmargin ceremony contribute",
    )


@ceremony_group.command(name="contribute")
@click.argument("zkey_in", type=existing)
@click.argument("zkey_out", type=output_file)
@click.option("--name", required=True, help="Who contributes (recorded in the transcript).")
@json_option
@click.pass_context
def ceremony_contribute(ctx: click.Context, zkey_in: Path, zkey_out: Path, name: str) -> None:
    """Add a contribution with fresh entropy from the OS."""
    check_outputs({"ZKEY_OUT": zkey_out}, {"ZKEY_IN": zkey_in})
    ceremony.contribute(zkey_in, zkey_out, name, toolchain_of(ctx))
    emit(ctx, {"ok": True, "zkey": str(zkey_out)}, f"wrote {zkey_out}; pass it to the next participant")


@ceremony_group.command(name="beacon")
@click.argument("zkey_in", type=existing)
@click.argument("zkey_out", type=output_file)
@click.option("--beacon", "beacon_hex", required=True, help="Public random value in hex (e.g. a future block hash).")
@click.option("--iterations", type=int, default=10, show_default=True, help="2^n hash iterations.")
@click.option("--name", default="final beacon", show_default=True)
@json_option
@click.pass_context
def ceremony_beacon(
    ctx: click.Context, zkey_in: Path, zkey_out: Path, beacon_hex: str, iterations: int, name: str
) -> None:
    """Close the ceremony with a public random beacon."""
    check_outputs({"ZKEY_OUT": zkey_out}, {"ZKEY_IN": zkey_in})
    ceremony.beacon(zkey_in, zkey_out, beacon_hex, iterations, name, toolchain_of(ctx))
    emit(ctx, {"ok": True, "zkey": str(zkey_out)}, f"wrote {zkey_out}")


@ceremony_group.command(name="verify")
@click.argument("zkey", type=existing)
@click.option("--circuit", required=True)
@ptau_option(required=True)
@json_option
@click.pass_context
def ceremony_verify(ctx: click.Context, zkey: Path, circuit: str, ptau: Path) -> None:
    """Verify a zkey against the circuit and the ptau; print the transcript. Exit 0 valid, 1 not."""
    res = ceremony.verify_zkey(registry.get(circuit), ptau, zkey, toolchain_of(ctx))
    emit(
        ctx,
        {"ok": res.valid, "valid": res.valid, "transcript": res.transcript},
        "\n".join([f"{'VALID' if res.valid else 'INVALID'}: {zkey} for {circuit}", *res.transcript]),
    )
    ctx.exit(EXIT_OK if res.valid else EXIT_FALSE)


@ceremony_group.command(name="install")
@click.argument("zkey", type=existing)
@click.option("--circuit", required=True)
@ptau_option(required=True)
@json_option
@click.pass_context
def ceremony_install(ctx: click.Context, zkey: Path, circuit: str, ptau: Path) -> None:
    """Verify a ceremony zkey and prove with it from now on (for this circuit and ptau)."""
    keys = ceremony.install(registry.get(circuit), ptau, zkey, toolchain_of(ctx))
    emit(ctx, {"ok": True, "vkey": str(keys.vkey_path)}, f"installed; verification key {keys.vkey_path}")


@ceremony_group.command(name="ptau-verify")
@click.argument("ptau_file", type=existing)
@json_option
@click.pass_context
def ceremony_ptau_verify(ctx: click.Context, ptau_file: Path) -> None:
    """Verify a (public) powers-of-tau file: its contributions and its phase-2 preparation."""
    info, res = ceremony.verify_ptau(ptau_file, toolchain_of(ctx))
    label = " (the INSECURE development ptau)" if info.is_dev else ""
    emit(
        ctx,
        {
            "ok": res.valid,
            "valid": res.valid,
            "power": info.power,
            "sha256": info.sha256,
            "insecure_dev": info.is_dev,
            "transcript": res.transcript,
        },
        "\n".join(
            [
                f"{'VALID' if res.valid else 'INVALID'}: {ptau_file}{label}, power {info.power}, sha256 {info.sha256}",
                *res.transcript,
            ]
        ),
    )
    ctx.exit(EXIT_OK if res.valid else EXIT_FALSE)
