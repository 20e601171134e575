"""Setting up and looking around: setup (the node toolchain), doctor, build, demo."""

from __future__ import annotations

from pathlib import Path

import click

from zkmargin import api, build, native, paths, pinning, prover, registry, toolchain, verifiers
from zkmargin.errors import ToolchainError
from zkmargin.fsutil import write_json_atomic
from zkmargin.limits import WAD
from zkmargin.model import evaluate, format_wad, rules_label
from zkmargin.output_paths import check_outputs
from zkmargin.statements import lending
from zkmargin.toolchain import REQUIRED

from .common import (
    EXIT_BAD_INPUT,
    EXIT_FALSE,
    EXIT_OK,
    emit,
    json_option,
    load_lending,
    progress_of,
    ptau_option,
    settings_of,
    toolchain_of,
)


@click.command()
@json_option
@click.pass_context
def setup(ctx: click.Context) -> None:
    """Install the pinned node toolchain (circom2, snarkjs, circomlib, solc, anvil) from the lock
    file this package ships, with npm ci, into the per-user data directory. Needs node and npm;
    verifying bundles with --vkey needs neither."""
    root = ctx.find_root().params
    nm = toolchain.install(root.get("node"), progress_of(ctx))
    emit(ctx, {"ok": True, "node_modules": str(nm)}, f"node toolchain ready in {nm}")


@click.command()
@json_option
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Show the node toolchain zkmargin found, the C compiler, the prover and verifier engines in
    use and why a fallback is used, and what is missing (`zkmargin setup` installs the node part)."""
    tc = toolchain_of(ctx)
    checks = tc.checks()
    required = {"node", *REQUIRED}
    ok = all(c.ok for c in checks if c.name in required)
    dev = paths.DEV_PTAU.exists()
    lines = [f"{'ok     ' if c.ok else 'MISSING'} {c.name:18} {c.detail}" for c in checks]
    lines.append(f"{'ok     ' if dev else 'MISSING'} {'dev ptau':18} {paths.DEV_PTAU} (INSECURE, development only)")
    why_not_c = native.unavailable_reason(progress_of(ctx))  # builds the library on first use, saying so
    try:
        cc: str | None = native.compiler()
    except ToolchainError:
        cc = None
    lines.append(
        f"{'ok     ' if why_not_c is None else 'MISSING'} {'C compiler':18} "
        f"{cc or 'none ($CC or cc)'}" + (f": {why_not_c}" if why_not_c else "")
    )
    try:
        used = (
            "c (the C prover)"
            if prover.backend(tc.prover, progress_of(ctx)) == "c"
            else f"snarkjs ({'chosen' if tc.prover == 'snarkjs' else 'fallback: ' + str(why_not_c)})"
        )
    except ToolchainError as e:  # --prover c without a working compiler
        used, ok = f"c unavailable: {e}", False
    verifier = verifiers.FastVerifier().engine
    lines.append(f"        {'prover':18} {used}")
    lines.append(f"        {'verifier':18} {verifier}")
    lines.append(f"        {'cache':18} {paths.cache_root()}")
    emit(
        ctx,
        {
            "ok": ok,
            "checks": [c.__dict__ for c in checks],
            "compiler": cc,
            "native_unavailable": why_not_c,
            "prover": used,
            "verifier_engine": verifier,
            "cache": str(paths.cache_root()),
        },
        "\n".join(lines),
    )
    if not ok:
        ctx.exit(EXIT_BAD_INPUT)


@click.command(name="build")
@click.argument("circuits", nargs=-1)
@ptau_option()
@click.option(
    "--manifest-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write <circuit>.manifest.json and <circuit>.vkey.json here, to publish.",
)
@json_option
@click.pass_context
def build_cmd(ctx: click.Context, circuits: tuple[str, ...], ptau: Path | None, manifest_dir: Path | None) -> None:
    """Compile circuits and run the Groth16 setup (all registered circuits by default)."""
    check_outputs({"--manifest-dir": manifest_dir}, {"--ptau": ptau}, directories=frozenset({"--manifest-dir"}))
    tc = toolchain_of(ctx)
    specs = [registry.get(c) for c in circuits] or list(registry.load_registry().values())
    out = []
    for spec in specs:
        keys = build.build(spec, tc, ptau, progress_of(ctx))
        if manifest_dir is not None:
            write_json_atomic(manifest_dir / f"{spec.id}.manifest.json", keys.manifest())
            write_json_atomic(manifest_dir / f"{spec.id}.vkey.json", keys.vkey())
        out.append(
            {
                "circuit": spec.id,
                "constraints": keys.compiled.n_constraints,
                "public_signals": len(keys.compiled.public_signals),
                "zkey": str(keys.zkey),
                "vkey": str(keys.vkey_path),
                "insecure_dev_ptau": keys.insecure,
            }
        )
    human = "\n".join(
        f"{o['circuit']}: {o['constraints']} constraints, {o['public_signals']} public signals\n  vkey {o['vkey']}"
        for o in out
    )
    emit(ctx, {"ok": True, "circuits": out}, human)


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Where the demo writes its bundle.",
)
@json_option
@click.pass_context
def demo(ctx: click.Context, out_dir: Path) -> None:
    """Prove and verify a liquidation from the fixtures, end to end."""
    check_outputs({"--out": out_dir}, directories=frozenset({"--out"}))
    fx = paths.FIXTURES_DIR
    position, market, prices = load_lending(fx / "position-liquidatable.json", fx / "market.json", fx / "prices.json")
    h = evaluate(position, market, prices)
    progress = progress_of(ctx)
    if not ctx.meta.get("json"):
        click.echo(
            f"position fixtures/position-liquidatable.json in market {market.name}: "
            f"health factor {format_wad(h.health_factor)} ({rules_label(market.rules)} rules, known only to the liquidator)"
        )
    settings = settings_of(ctx)
    bundle = lending.prove_liquidation(position, market, prices, WAD, settings)
    target = out_dir / "liquidation-bundle.json"
    bundle.save(target)
    results = {}
    evm = verifiers.get("evm", settings)
    skipped: list[str] = []
    # verified as a protocol would: the key this installation built, the market, prices and threshold pinned
    expect = pinning.Expectations(market=market, prices=prices, threshold=WAD)
    for v in (verifiers.get("fast"), verifiers.get("snarkjs", settings), evm):
        try:
            with progress.step(f"verifying ({v.name})"):
                results[v.name] = api.verify_bundle(
                    bundle, verifier=v, keys=pinning.InstalledKeys(settings.tc()), expect=expect, settings=settings
                )
        except ToolchainError as e:
            if v.name != "evm":
                raise
            skipped.append(f"evm: skipped: {e}")  # the evm extra is not installed
    ok = all(r.valid for r in results.values())
    gas_report = None
    if ok and not skipped and isinstance(evm, verifiers.EvmVerifier):
        gas_report = api.measure_gas(bundle, chain=evm.chain, verifier=evm.address, settings=settings)
    claim = results["fast"].claim
    human = "\n".join(
        [
            f"bundle: {target}",
            *(f"{b}: {'VALID' if r.valid else 'INVALID'} ({r.reason})" for b, r in results.items()),
            *skipped,
            f"claim: {claim.describe()}",
            f"key: {results['fast'].key.describe()}; market, prices and threshold 1.0 pinned",
            *(
                [
                    f"verifyProof gas (in-process EVM): {gas_report.total} total, {gas_report.execution} execution "
                    f"+ {gas_report.calldata} calldata + 21000 base"
                ]
                if gas_report
                else []
            ),
        ]
    )
    emit(
        ctx,
        {
            "ok": ok,
            "bundle": str(target),
            "verification": {b: r.to_json() for b, r in results.items()},
            "gas": gas_report.to_json() if gas_report else None,
        },
        human,
    )
    ctx.exit(EXIT_OK if ok else EXIT_FALSE)
