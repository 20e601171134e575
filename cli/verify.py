"""Verification commands: verify, verify-batch (a key and a statement the verifier pins), gas and
calldata (what a contract is sent)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from zkmargin import api, pinning, verifiers
from zkmargin.attestation import CONTEXT_MAX
from zkmargin.bundle import load_bundle
from zkmargin.errors import InputError

from .common import (
    EXIT_FALSE,
    EXIT_OK,
    chain_options,
    emit,
    existing,
    expectations,
    json_option,
    make_chain,
    pin_options,
    pins_text,
    settings_of,
    toolchain_of,
)


@click.command()
@click.argument("bundle_file", type=existing)
@click.option(
    "--backend",
    type=click.Choice(["fast", "reference", "snarkjs"]),
    default="fast",
    show_default=True,
    help="fast: prepared key, on the C engine (or pure Python without a C compiler); reference: "
    "plain py_ecc; snarkjs: snarkjs's own.",
)
@click.option("--onchain", is_flag=True, help="Verify with the Solidity verifier on an EVM instead.")
@chain_options
@pin_options
@click.option("--nonce", type=click.IntRange(0, CONTEXT_MAX), help="Attestations: the nonce you expect.")
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    bundle_file: Path,
    backend: str,
    onchain: bool,
    rpc_url: str | None,
    rpc_timeout: float,
    verifier_address: str | None,
    private_key: str | None,
    vkey: Path | None,
    manifest: Path | None,
    inspect_embedded: bool,
    market_file: Path | None,
    perp_markets_file: Path | None,
    prices_file: Path | None,
    threshold: str | None,
    min_hf: str | None,
    ratio: str | None,
    domain: str | None,
    at_time: int | None,
    nonce: int | None,
) -> None:
    """Verify a proof bundle against a key you pin (--vkey, --manifest, or this installation's own
    key for the bundle's circuit) and, optionally, the parameters you require. Exit 0 if valid,
    1 if not, 2 if no key is pinned or an input is malformed."""
    bundle = load_bundle(bundle_file)
    expect = expectations(market_file, perp_markets_file, prices_file, threshold, min_hf, ratio)
    settings = settings_of(ctx)
    verifier: str | verifiers.Verifier = backend
    if onchain or rpc_url or verifier_address:
        verifier = verifiers.get(
            "evm", settings, chain=make_chain(rpc_url, private_key, rpc_timeout), address=verifier_address
        )
    res = api.verify_bundle(
        bundle,
        verifier=verifier,
        vkey=vkey,
        manifest=manifest,
        keys=pinning.InstalledKeys(settings.tc()),
        expect=expect,
        domain=domain,
        now=at_time,
        nonce=nonce,
        inspect_embedded_key=inspect_embedded,
        settings=settings,
    )
    lines = [
        f"{'VALID' if res.valid else 'INVALID'} ({res.engine}): {res.reason}",
        f"claim: {res.claim.describe()}",
        *pins_text(res),
    ]
    if res.insecure_setup:
        click.echo("WARNING: the bundle says its keys come from the INSECURE development ptau", err=True)
    emit(ctx, {"ok": res.valid, **res.to_json()}, "\n".join(lines))
    ctx.exit(EXIT_OK if res.valid else EXIT_FALSE)


@click.command(name="verify-batch")
@click.argument("bundle_files", nargs=-1, required=True, type=existing)
@pin_options
@json_option
@click.pass_context
def verify_batch(
    ctx: click.Context,
    bundle_files: tuple[Path, ...],
    vkey: Path | None,
    manifest: Path | None,
    inspect_embedded: bool,
    market_file: Path | None,
    perp_markets_file: Path | None,
    prices_file: Path | None,
    threshold: str | None,
    min_hf: str | None,
    ratio: str | None,
    domain: str | None,
    at_time: int | None,
) -> None:
    """Verify many bundles of one circuit and key at once (one final exponentiation for all), against
    a pinned key as `verify` does. Exit 0 if every bundle is valid, 1 if any is not, each invalid one
    named; attestations sharing a nonce in one batch are invalid."""
    if inspect_embedded:
        raise InputError("--insecure-embedded-key", "verify-batch only verifies against a pinned key")
    bundles = [load_bundle(f) for f in bundle_files]
    expect = expectations(market_file, perp_markets_file, prices_file, threshold, min_hf, ratio)
    pins: dict[str, Any] = {
        "vkey": vkey,
        "manifest": manifest,
        "keys": pinning.InstalledKeys(toolchain_of(ctx)),
        "expect": expect,
        "domain": domain,
        "now": at_time,
    }
    started = time.perf_counter()
    res = api.verify_bundles(bundles, **pins)
    seconds = time.perf_counter() - started
    invalid = []
    if not res.valid:  # the batch says only that something is wrong: find what
        blame = api.batch_blame(bundles, **pins)
        invalid = [
            {"bundle": str(f), "reason": why} for f, why in zip(bundle_files, blame, strict=True) if why is not None
        ]
    n = len(bundles)
    human = (
        f"VALID: {n} bundles in one batch ({seconds * 1000:.1f} ms)"
        if res.valid
        else "\n".join(
            [
                f"INVALID: {len(invalid) or 'some'} of {n} bundles ({res.reason})",
                *(f"  {i['bundle']}: {i['reason']}" for i in invalid),
            ]
        )
    )
    emit(ctx, {"ok": res.valid, "count": n, "reason": res.reason, "invalid": invalid, "seconds": seconds}, human)
    ctx.exit(EXIT_OK if res.valid else EXIT_FALSE)


@click.command()
@click.argument("bundle_file", type=existing)
@chain_options
@json_option
@click.pass_context
def gas(
    ctx: click.Context,
    bundle_file: Path,
    rpc_url: str | None,
    rpc_timeout: float,
    verifier_address: str | None,
    private_key: str | None,
) -> None:
    """Gas of a successful verifyProof call, split into base, calldata and execution."""
    bundle = load_bundle(bundle_file)
    report = api.measure_gas(
        bundle,
        chain=make_chain(rpc_url, private_key, rpc_timeout),
        verifier=verifier_address,
        settings=settings_of(ctx),
    )
    emit(
        ctx,
        {"ok": True, **report.to_json()},
        f"verifyProof gas on {report.chain}: {report.total} total = 21000 base + {report.calldata} calldata + "
        f"{report.execution} execution ({report.public_inputs} public inputs; "
        f"181k + 6.15k/input estimate: {report.formula})",
    )


@click.command(name="calldata")
@click.argument("bundle_file", type=existing)
@json_option
@click.pass_context
def calldata_cmd(ctx: click.Context, bundle_file: Path) -> None:
    """verifyProof arguments (as `snarkjs zkey export soliditycalldata` prints them)."""
    cd = api.bundle_calldata(load_bundle(bundle_file))
    emit(
        ctx,
        {
            "ok": True,
            "function": cd.signature,
            "arguments": cd.to_json(),
            "snarkjs": cd.snarkjs_format(),
            "calldata": "0x" + cd.encoded().hex(),
        },
        cd.snarkjs_format(),
    )
