"""`zkmargin` CLI. The only place where exceptions become exit codes:

  0  success, or the proof is valid
  1  the statement is false (e.g. the position is not liquidatable) or the proof is invalid
  2  bad input, bad environment or broken artifacts (the message names the field)
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal, InvalidOperation
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from zkmargin import api, build, ceremony, native, paths, perp, pinning, prover, registry, scan
from zkmargin.bundle import Bundle, decode_claim, load_bundle
from zkmargin.commitment import commitment, to_hex
from zkmargin.commitment import new_salt as draw_salt
from zkmargin.errors import InputError, StatementFalse, ToolchainError, ZkMarginError
from zkmargin.fsutil import write_json_atomic
from zkmargin.limits import RPC_TIMEOUT, WAD
from zkmargin.output_paths import check_outputs
from zkmargin.loaders import (
    _uint,
    load_market,
    load_position,
    load_prices,
    parse_threshold,
    position_from_json,
    position_to_json,
    read_json,
)
from zkmargin.model import evaluate, format_wad
from zkmargin.progress import NullProgress, Progress, StderrProgress
from zkmargin.statements import CONTEXT_MAX, AttestationContext
from zkmargin.evm import Chain, InProcessChain, RpcChain
from zkmargin.toolchain import REQUIRED, Toolchain

EXIT_OK, EXIT_FALSE, EXIT_BAD_INPUT = 0, 1, 2
MAX_EXPIRY = 253_402_300_799  # 9999-12-31T23:59:59Z: the last time a date can print
MAX_WORKERS = 256


def _emit(ctx: click.Context, payload: dict[str, Any], human: str) -> None:
    if ctx.meta.get("json"):
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(human)


def _fail(ctx: click.Context, err: BaseException, code: int) -> NoReturn:
    if ctx.meta.get("json"):
        payload: dict[str, Any] = {"ok": False, "exit_code": code, "error": str(err), "type": type(err).__name__}
        if isinstance(err, InputError):
            payload["field"] = err.field
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(f"zkmargin: error: {err}", err=True)
    ctx.exit(code)
    raise AssertionError("unreachable")


class ZkGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StatementFalse as e:
            _fail(ctx, e, EXIT_FALSE)
        except ZkMarginError as e:
            _fail(ctx, e, EXIT_BAD_INPUT)
        except OSError as e:  # a file the user named cannot be read or written: say which, no traceback
            _fail(ctx, InputError(str(e.filename or "path"), e.strerror or str(e)), EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            click.echo("zkmargin: interrupted", err=True)
            ctx.exit(130)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """click's main, but a usage error (missing file or option, a value out of range) is exit 2
        and, with --json anywhere on the command line, a JSON object on stdout like every other error."""
        argv = list(args) if args is not None else sys.argv[1:]
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as e:
            if "--json" in argv:
                payload = {"ok": False, "exit_code": EXIT_BAD_INPUT, "error": e.format_message(),
                           "type": type(e).__name__}
                if isinstance(e, click.BadParameter) and e.param is not None:
                    payload["field"] = e.param.opts[0] if e.param.opts else e.param.name
                click.echo(json.dumps(payload, indent=2))
            else:
                e.show()
            sys.exit(EXIT_BAD_INPUT)
        except click.Abort:
            click.echo("zkmargin: aborted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def _set_meta(key: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
    def set_flag(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:  # given before or after the subcommand, either one sets it
            ctx.find_root().meta[key] = True
        return value

    return set_flag


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--json and -q, accepted after the subcommand as well as before it."""
    f = click.option("-q", "--quiet", "quiet_flag", is_flag=True, expose_value=False, is_eager=True,
                     callback=_set_meta("quiet"), help="No progress output on stderr.")(f)
    return click.option("--json", "as_json", is_flag=True, expose_value=False, is_eager=True,
                        callback=_set_meta("json"), help="Machine-readable JSON on stdout.")(f)


def _progress(ctx: click.Context) -> Progress:
    return NullProgress() if ctx.find_root().meta.get("quiet") else StderrProgress()


def _toolchain(ctx: click.Context) -> Toolchain:
    root = ctx.find_root().params
    return Toolchain.discover(root.get("node"), root.get("node_modules"), root.get("prover"))


existing = click.Path(exists=True, dir_okay=False, path_type=Path)


def attestation_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Context of an attestation, output and ptau: shared by `attest` and `perp attest`."""
    for opt in reversed([
        click.option("--domain", required=True, help="The verifier this attestation is for (e.g. its name)."),
        click.option("--expiry", type=click.IntRange(0, MAX_EXPIRY),
                     help="Unix time after which verifiers refuse it, in the future (default: now + --ttl)."),
        click.option("--ttl", type=click.IntRange(1, MAX_EXPIRY), default=3600, show_default=True,
                     help="Seconds of validity when --expiry is absent."),
        click.option("--nonce", type=click.IntRange(0, CONTEXT_MAX),
                     help="Nonce the verifier asked for (default: 64 random bits)."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
                     help="Bundle to write."),
        click.option("--ptau", type=existing, help="Prepared powers-of-tau file from a real ceremony."),
    ]):
        f = opt(f)
    return f


def _context(domain: str, expiry: int | None, ttl: int, nonce: int | None) -> AttestationContext:
    now = int(time.time())
    if expiry is not None and expiry <= now:
        raise InputError("--expiry", f"{expiry} is not in the future (now {now}): the attestation would be "
                         "refused by every verifier")
    at = expiry if expiry is not None else now + ttl
    if at > MAX_EXPIRY:
        raise InputError("--ttl", f"now + {ttl} s is past the year 9999 (unix time {MAX_EXPIRY})")
    return AttestationContext(domain, at, nonce if nonce is not None else secrets.randbits(64))


def _save_and_report(ctx: click.Context, bundle: Bundle, output: Path, symbols: tuple[str, ...],
                     **extra: str) -> None:
    """Write the bundle atomically and print its claim (decoded from the public signals; the
    slots named from the market the prover itself loaded)."""
    bundle.save(output)
    claim = decode_claim(bundle, symbols)
    written = " and ".join([str(output), *extra.values()])
    _emit(ctx, {"ok": True, "bundle": str(output), **extra, "claim": claim.to_json()},
          f"wrote {written}\nclaim: {claim.describe()}")


@click.group(cls=ZkGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--node", envvar="ZKMARGIN_NODE", help="node executable (default: node on PATH).")
@click.option("--node-modules", envvar="ZKMARGIN_NODE_MODULES", type=click.Path(file_okay=False, path_type=Path),
              help="node_modules with the pinned packages (default: the project's).")
@click.option("--prover", type=click.Choice(prover.BACKENDS), envvar="ZKMARGIN_PROVER",
              help="Proving backend: native (C, the default when a C compiler is available) or snarkjs.")
@click.option("-q", "--quiet", "quiet_flag", is_flag=True, expose_value=False, is_eager=True,
              callback=_set_meta("quiet"), help="No progress output on stderr.")
@click.option("--json", "as_json", is_flag=True, expose_value=False, is_eager=True, callback=_set_meta("json"),
              help="Machine-readable JSON on stdout.")
@click.version_option(package_name="zkmargin")
@click.pass_context
def cli(ctx: click.Context, node: str | None, node_modules: Path | None, prover: str | None) -> None:
    """Zero-knowledge liquidation proofs for committed lending positions."""


@cli.command()
@json_option
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Show the node toolchain zkmargin found and what is missing."""
    tc = _toolchain(ctx)
    checks = tc.checks()
    required = {"node", *REQUIRED}
    ok = all(c.ok for c in checks if c.name in required)
    dev = paths.DEV_PTAU.exists()
    lines = [f"{'ok     ' if c.ok else 'MISSING'} {c.name:18} {c.detail}" for c in checks]
    lines.append(f"{'ok     ' if dev else 'MISSING'} {'dev ptau':18} {paths.DEV_PTAU} (INSECURE, development only)")
    why_not_c = native.unavailable_reason()  # builds the library on first use (with a progress line)
    try:
        cc: str | None = native.compiler()
    except ToolchainError:
        cc = None
    lines.append(f"{'ok     ' if why_not_c is None else 'MISSING'} {'C compiler':18} "
                 f"{cc or 'none ($CC or cc)'}" + (f": {why_not_c}" if why_not_c else ""))
    try:
        used = "native (the C library)" if prover.backend(tc.prover, _progress(ctx)) == "native" else \
            f"snarkjs ({'chosen' if tc.prover == 'snarkjs' else 'fallback: ' + str(why_not_c)})"
    except ToolchainError as e:  # --prover native without a working compiler
        used, ok = f"native unavailable: {e}", False
    verifier = "C engine" if why_not_c is None else f"pure-Python engine (fallback: {why_not_c})"
    lines.append(f"        {'prover':18} {used}")
    lines.append(f"        {'native verifier':18} {verifier}")
    lines.append(f"        {'cache':18} {paths.cache_root()}")
    _emit(ctx, {"ok": ok, "checks": [c.__dict__ for c in checks], "compiler": cc, "native_unavailable": why_not_c,
                "prover": used, "verifier_engine": verifier, "cache": str(paths.cache_root())}, "\n".join(lines))
    if not ok:
        ctx.exit(EXIT_BAD_INPUT)


@cli.command(name="build")
@click.argument("circuits", nargs=-1)
@click.option("--ptau", type=existing, help="Prepared powers-of-tau file from a real ceremony.")
@click.option("--manifest-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write <circuit>.manifest.json and <circuit>.vkey.json here, to publish.")
@json_option
@click.pass_context
def build_cmd(ctx: click.Context, circuits: tuple[str, ...], ptau: Path | None, manifest_dir: Path | None) -> None:
    """Compile circuits and run the Groth16 setup (all registered circuits by default)."""
    check_outputs({"--manifest-dir": manifest_dir}, {"--ptau": ptau}, directories=frozenset({"--manifest-dir"}))
    tc = _toolchain(ctx)
    specs = [registry.get(c) for c in circuits] or list(registry.load_registry().values())
    out = []
    for spec in specs:
        keys = build.build(spec, tc, ptau, _progress(ctx))
        if manifest_dir is not None:
            write_json_atomic(manifest_dir / f"{spec.id}.manifest.json", keys.manifest())
            write_json_atomic(manifest_dir / f"{spec.id}.vkey.json", keys.vkey())
        out.append({
            "circuit": spec.id,
            "constraints": keys.compiled.n_constraints,
            "public_signals": len(keys.compiled.public_signals),
            "zkey": str(keys.zkey),
            "vkey": str(keys.vkey_path),
            "insecure_dev_ptau": keys.insecure,
        })
    human = "\n".join(f"{o['circuit']}: {o['constraints']} constraints, {o['public_signals']} public signals\n"
                      f"  vkey {o['vkey']}" for o in out)
    _emit(ctx, {"ok": True, "circuits": out}, human)


@cli.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--new-salt", is_flag=True, help="Draw a fresh salt (from the OS CSPRNG) and write it with -o.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the salted position (needed when a salt is drawn).")
@json_option
@click.pass_context
def commit(ctx: click.Context, position_file: Path, market_file: Path, new_salt: bool, output: Path | None) -> None:
    """Print the Poseidon commitment of a position (drawing a salt if it has none)."""
    check_outputs({"--output": output}, {"POSITION": position_file, "--market": market_file})
    market = load_market(market_file)
    raw = read_json(position_file, "position")
    drew = new_salt or (isinstance(raw, dict) and "salt" not in raw)
    if drew:
        if output is None:
            raise InputError("--output", "a fresh salt was drawn: pass -o FILE to keep the salted position")
        if not isinstance(raw, dict):
            raise InputError("position", "must be a JSON object")
        raw = {**raw, "salt": to_hex(draw_salt())}
    position = position_from_json(raw, market)
    spec = registry.for_assets("liquidation", len(market.assets))
    com = commitment(position, market, spec.n_assets)
    if drew and output is not None:
        write_json_atomic(output, raw)
    payload = {"ok": True, "commitment": to_hex(com), "commitment_decimal": str(com), "slots": spec.n_assets,
               "salted_position": str(output) if drew else None}
    human = f"commitment {to_hex(com)} ({spec.n_assets} slots, layout zkmargin/lending/v1)"
    if drew:
        human += f"\nsalted position written to {output} (keep it secret: it opens the commitment)"
    _emit(ctx, payload, human)


def _inputs(position: Path, market: Path, prices: Path, ptau: Path | None) -> dict[str, Path | None]:
    """The files a proving command reads, which no output may overwrite."""
    return {"POSITION": position, "--market": market, "--prices": prices, "--ptau": ptau}


def _load_all(position_file: Path, market_file: Path, prices_file: Path) -> tuple[Any, Any, Any]:
    market = load_market(market_file)
    return load_position(position_file, market), market, load_prices(prices_file, market)


@cli.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True)
@click.option("--prices", "prices_file", type=existing, required=True)
@click.option("--threshold", default="1.0", show_default=True, help="Health-factor threshold.")
@json_option
@click.pass_context
def health(ctx: click.Context, position_file: Path, market_file: Path, prices_file: Path, threshold: str) -> None:
    """Evaluate a position with the reference model (no proof). Exit 0 if HF < threshold, else 1."""
    position, market, prices = _load_all(position_file, market_file, prices_file)
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
    }
    verdict = "below threshold: liquidatable" if below else "at or above threshold: not liquidatable"
    _emit(ctx, payload, f"health factor {format_wad(h.health_factor)} (Aave v3.5), threshold {format_wad(t)}: {verdict}")
    ctx.exit(EXIT_OK if below else EXIT_FALSE)


@cli.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--prices", "prices_file", type=existing, required=True, help="Price snapshot JSON.")
@click.option("--threshold", default="1.0", show_default=True, help="Prove HF < this (decimal, e.g. 1.0).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Bundle to write.")
@click.option("--ptau", type=existing, help="Prepared powers-of-tau file from a real ceremony.")
@json_option
@click.pass_context
def prove(ctx: click.Context, position_file: Path, market_file: Path, prices_file: Path, threshold: str,
          output: Path, ptau: Path | None) -> None:
    """Prove that a committed position is liquidatable (HF < threshold) and write a bundle."""
    check_outputs({"--output": output}, _inputs(position_file, market_file, prices_file, ptau))
    position, market, prices = _load_all(position_file, market_file, prices_file)
    t = parse_threshold(threshold)
    bundle = api.prove_liquidation(position, market, prices, t, ptau=ptau, toolchain=_toolchain(ctx),
                                   progress=_progress(ctx))
    _save_and_report(ctx, bundle, output, market.symbols)


def _address(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise click.BadParameter("must be a 20-byte address: 0x followed by 40 hex digits")
    return value


def chain_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--private-key", envvar="ZKMARGIN_PRIVATE_KEY",
                     help="Key that signs deployments on --rpc-url (env ZKMARGIN_PRIVATE_KEY).")(f)
    f = click.option("--verifier", "verifier_address", callback=_address,
                     help="An already deployed verifier to call (0x + 40 hex digits).")(f)
    f = click.option("--rpc-timeout", type=click.FloatRange(0.1, 600), default=RPC_TIMEOUT, show_default=True,
                     help="Seconds to wait for each JSON-RPC request (not retried).")(f)
    return click.option("--rpc-url", help="JSON-RPC node (default: an in-process EVM, pyrevm).")(f)


def _chain(rpc_url: str | None, private_key: str | None, rpc_timeout: float = RPC_TIMEOUT) -> Chain:
    return RpcChain(rpc_url, private_key, rpc_timeout) if rpc_url else InProcessChain()


@cli.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--prices", "prices_file", type=existing, required=True, help="Price snapshot JSON.")
@click.option("--min-hf", default="1.0", show_default=True, help="Prove HF >= this (decimal).")
@attestation_options
@json_option
@click.pass_context
def attest(ctx: click.Context, position_file: Path, market_file: Path, prices_file: Path, min_hf: str, domain: str,
           expiry: int | None, ttl: int, nonce: int | None, output: Path, ptau: Path | None) -> None:
    """Prove that a committed position is solvent (HF >= --min-hf) for one verifier, until an expiry."""
    check_outputs({"--output": output}, _inputs(position_file, market_file, prices_file, ptau))
    position, market, prices = _load_all(position_file, market_file, prices_file)
    t = parse_threshold(min_hf, "--min-hf")
    bundle = api.attest_solvency(position, market, prices, t, _context(domain, expiry, ttl, nonce), ptau=ptau,
                                 toolchain=_toolchain(ctx), progress=_progress(ctx))
    _save_and_report(ctx, bundle, output, market.symbols)


@cli.command()
@click.argument("position_file", type=existing)
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--prices", "prices_file", type=existing, required=True, help="Price snapshot JSON.")
@click.option("--collateral-asset", required=True, help="Collateral to seize (symbol).")
@click.option("--debt-asset", required=True, help="Debt to repay (symbol).")
@click.option("--debt-to-cover", required=True, help="Debt to repay, token base units ('max' for all allowed).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Bundle to write.")
@click.option("--new-position", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the position after the liquidation (its opening: keep it secret).")
@click.option("--ptau", type=existing, help="Prepared powers-of-tau file from a real ceremony.")
@json_option
@click.pass_context
def liquidate(ctx: click.Context, position_file: Path, market_file: Path, prices_file: Path, collateral_asset: str,
              debt_asset: str, debt_to_cover: str, output: Path, new_position: Path, ptau: Path | None) -> None:
    """Prove one Aave v3.5 liquidation call on a committed position (old -> new commitment)."""
    check_outputs({"--output": output, "--new-position": new_position},
                  _inputs(position_file, market_file, prices_file, ptau))
    position, market, prices = _load_all(position_file, market_file, prices_file)
    amount = 2**128 - 1 if debt_to_cover == "max" else _uint(debt_to_cover, "--debt-to-cover", 1, 2**128 - 1)
    bundle, after = api.prove_liquidation_step(position, market, prices, collateral_asset, debt_asset, amount,
                                               ptau=ptau, toolchain=_toolchain(ctx), progress=_progress(ctx))
    write_json_atomic(new_position, position_to_json(after))
    _save_and_report(ctx, bundle, output, market.symbols, new_position=str(new_position))


def pin_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """What a verifier pins: the key (never the bundle's alone) and the statement's parameters."""
    for opt in reversed([
        click.option("--vkey", type=existing, help="The verification key you trust (vkey.json)."),
        click.option("--manifest", type=existing, help="A build manifest: pins the circuit and the key's sha256."),
        click.option("--insecure-embedded-key", "inspect_embedded", is_flag=True,
                     help="INSPECTION ONLY: check the proof under the bundle's own key; never reports valid."),
        click.option("--market", "market_file", type=existing, help="Lending: require this market's slots, "
                     "decimals and risk parameters."),
        click.option("--markets", "perp_markets_file", type=existing, help="Perps: require these perp markets."),
        click.option("--prices", "prices_file", type=existing,
                     help="Require these oracle prices (with --market, or perp prices with --markets)."),
        click.option("--threshold", help="Liquidation: require the proven HF threshold to be this (e.g. 1.0)."),
        click.option("--min-hf", help="Solvency attestation: require this minimum HF."),
        click.option("--ratio", help="Perps: require this multiple of the maintenance margin."),
        click.option("--domain", help="Attestations: the domain you verify for (required for them)."),
        click.option("--at", "at_time", type=click.IntRange(0, CONTEXT_MAX),
                     help="Attestations: check expiry at this unix time (default: now)."),
    ]):
        f = opt(f)
    return f


def _expectations(market_file: Path | None, perp_markets_file: Path | None, prices_file: Path | None,
                  threshold: str | None, min_hf: str | None, ratio: str | None) -> pinning.Expectations:
    names = {"market": "--market", "prices": "--prices", "threshold": "--threshold", "min_hf": "--min-hf",
             "perp_markets": "--markets", "perp_quotes": "--prices", "ratio_bps": "--ratio"}
    if market_file is not None and perp_markets_file is not None:
        raise InputError("--markets", "pass --market (lending) or --markets (perps), not both")
    if prices_file is not None and market_file is None and perp_markets_file is None:
        raise InputError("--prices", "needs --market (lending) or --markets (perps): the slot order of the prices")
    market = load_market(market_file) if market_file is not None else None
    pmarkets = perp.load_markets(perp_markets_file) if perp_markets_file is not None else None
    return pinning.Expectations(
        market=market,
        prices=load_prices(prices_file, market) if prices_file is not None and market is not None else None,
        threshold=parse_threshold(threshold) if threshold is not None else None,
        min_hf=parse_threshold(min_hf, "--min-hf") if min_hf is not None else None,
        perp_markets=pmarkets,
        perp_quotes=perp.load_quotes(prices_file, pmarkets) if prices_file is not None and pmarkets else None,
        ratio_bps=_ratio(ratio, "--ratio") if ratio is not None else None,
        names=names,
    )


def _pins_text(res: api.BundleVerification) -> list[str]:
    lines = [f"key: {res.key.sha256} {res.key.describe()}"]
    if res.unpinned:
        lines.append(f"statement not pinned: {', '.join(res.unpinned)} (the claim states what was proven; "
                     "pass them to require your own values)")
    return lines


@cli.command()
@click.argument("bundle_file", type=existing)
@click.option("--backend", type=click.Choice(["native", "reference", "snarkjs"]), default="native", show_default=True,
              help="native: the fast verifier (C, or Python without a compiler); reference: plain py_ecc; "
                   "snarkjs: snarkjs's own.")
@click.option("--onchain", is_flag=True, help="Verify with the Solidity verifier on an EVM instead.")
@chain_options
@pin_options
@click.option("--nonce", type=click.IntRange(0, CONTEXT_MAX), help="Attestations: the nonce you expect.")
@json_option
@click.pass_context
def verify(ctx: click.Context, bundle_file: Path, backend: str, onchain: bool, rpc_url: str | None,
           rpc_timeout: float, verifier_address: str | None, private_key: str | None, vkey: Path | None,
           manifest: Path | None,
           inspect_embedded: bool, market_file: Path | None, perp_markets_file: Path | None,
           prices_file: Path | None, threshold: str | None, min_hf: str | None, ratio: str | None,
           domain: str | None, at_time: int | None, nonce: int | None) -> None:
    """Verify a proof bundle against a key you pin (--vkey, --manifest, or this installation's own
    key for the bundle's circuit) and, optionally, the parameters you require. Exit 0 if valid,
    1 if not, 2 if no key is pinned or an input is malformed."""
    bundle = load_bundle(bundle_file)
    expect = _expectations(market_file, perp_markets_file, prices_file, threshold, min_hf, ratio)
    if onchain or rpc_url or verifier_address:
        backend = "evm"
    tc = _toolchain(ctx)
    chain = _chain(rpc_url, private_key, rpc_timeout) if backend == "evm" else None
    res = api.verify_bundle(bundle, backend=backend, vkey=vkey, manifest=manifest,  # type: ignore[arg-type]
                            keys=pinning.InstalledKeys(tc), expect=expect, toolchain=tc, chain=chain,
                            verifier=verifier_address, domain=domain, now=at_time, nonce=nonce,
                            inspect_embedded_key=inspect_embedded)
    where = f" at {res.verifier_address}" if res.verifier_address else ""
    if backend == "native":  # say which engine really ran
        why_not_c = native.unavailable_reason()
        where = " C engine" if why_not_c is None else f" pure-Python engine; no C library: {why_not_c}"
    lines = [f"{'VALID' if res.valid else 'INVALID'} ({backend}{where}): {res.reason}",
             f"claim: {res.claim.describe()}", *_pins_text(res)]
    if res.insecure_setup:
        click.echo("WARNING: the bundle says its keys come from the INSECURE development ptau", err=True)
    _emit(ctx, {"ok": res.valid, **res.to_json()}, "\n".join(lines))
    ctx.exit(EXIT_OK if res.valid else EXIT_FALSE)


@cli.command(name="verify-batch")
@click.argument("bundle_files", nargs=-1, required=True, type=existing)
@pin_options
@json_option
@click.pass_context
def verify_batch(ctx: click.Context, bundle_files: tuple[Path, ...], vkey: Path | None, manifest: Path | None,
                 inspect_embedded: bool, market_file: Path | None, perp_markets_file: Path | None,
                 prices_file: Path | None, threshold: str | None, min_hf: str | None, ratio: str | None,
                 domain: str | None, at_time: int | None) -> None:
    """Verify many bundles of one circuit and key at once (one final exponentiation for all), against
    a pinned key as `verify` does. Exit 0 if every bundle is valid, 1 if any is not, each invalid one
    named; attestations sharing a nonce in one batch are invalid."""
    if inspect_embedded:
        raise InputError("--insecure-embedded-key", "verify-batch only verifies against a pinned key")
    bundles = [load_bundle(f) for f in bundle_files]
    expect = _expectations(market_file, perp_markets_file, prices_file, threshold, min_hf, ratio)
    pins: dict[str, Any] = {"vkey": vkey, "manifest": manifest, "keys": pinning.InstalledKeys(_toolchain(ctx)),
                            "expect": expect, "domain": domain, "now": at_time}
    started = time.perf_counter()
    res = api.verify_bundles(bundles, **pins)
    seconds = time.perf_counter() - started
    invalid = []
    if not res.valid:  # the batch says only that something is wrong: find what
        blame = api.batch_blame(bundles, **pins)
        invalid = [{"bundle": str(f), "reason": why} for f, why in zip(bundle_files, blame) if why is not None]
    n = len(bundles)
    human = (f"VALID: {n} bundles in one batch ({seconds * 1000:.1f} ms)" if res.valid else
             "\n".join([f"INVALID: {len(invalid) or 'some'} of {n} bundles ({res.reason})",
                        *(f"  {i['bundle']}: {i['reason']}" for i in invalid)]))
    _emit(ctx, {"ok": res.valid, "count": n, "reason": res.reason, "invalid": invalid, "seconds": seconds}, human)
    ctx.exit(EXIT_OK if res.valid else EXIT_FALSE)


@cli.command()
@click.argument("bundle_file", type=existing)
@chain_options
@json_option
@click.pass_context
def gas(ctx: click.Context, bundle_file: Path, rpc_url: str | None, rpc_timeout: float,
        verifier_address: str | None, private_key: str | None) -> None:
    """Gas of a successful verifyProof call, split into base, calldata and execution."""
    bundle = load_bundle(bundle_file)
    report = api.measure_gas(bundle, chain=_chain(rpc_url, private_key, rpc_timeout), verifier=verifier_address,
                             toolchain=_toolchain(ctx))
    _emit(ctx, {"ok": True, **report.to_json()},
          f"verifyProof gas on {report.chain}: {report.total} total = 21000 base + {report.calldata} calldata + "
          f"{report.execution} execution ({report.public_inputs} public inputs; "
          f"181k + 6.15k/input estimate: {report.formula})")


@cli.command(name="calldata")
@click.argument("bundle_file", type=existing)
@json_option
@click.pass_context
def calldata_cmd(ctx: click.Context, bundle_file: Path) -> None:
    """verifyProof arguments (as `snarkjs zkey export soliditycalldata` prints them)."""
    cd = api.bundle_calldata(load_bundle(bundle_file))
    _emit(ctx, {"ok": True, "function": cd.signature, "arguments": cd.to_json(), "snarkjs": cd.snarkjs_format(),
                "calldata": "0x" + cd.encoded().hex()}, cd.snarkjs_format())


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"),
              show_default=True, help="Where the demo writes its bundle.")
@json_option
@click.pass_context
def demo(ctx: click.Context, out_dir: Path) -> None:
    """Prove and verify a liquidation from the fixtures, end to end."""
    check_outputs({"--out": out_dir}, directories=frozenset({"--out"}))
    fx = paths.FIXTURES_DIR
    position, market, prices = _load_all(fx / "position-liquidatable.json", fx / "market.json", fx / "prices.json")
    h = evaluate(position, market, prices)
    progress = _progress(ctx)
    if not ctx.meta.get("json"):
        click.echo(f"position fixtures/position-liquidatable.json in market {market.name}: "
                   f"health factor {format_wad(h.health_factor)} (Aave v3.5, known only to the liquidator)")
    bundle = api.prove_liquidation(position, market, prices, WAD, toolchain=_toolchain(ctx), progress=progress)
    target = out_dir / "liquidation-bundle.json"
    bundle.save(target)
    results = {}
    chain = InProcessChain()
    tc = _toolchain(ctx)
    # verified as a protocol would: the key this installation built, the market, prices and threshold pinned
    expect = pinning.Expectations(market=market, prices=prices, threshold=WAD)
    backends: tuple[api.Backend, ...] = ("native", "snarkjs", "evm")
    for backend in backends:
        with progress.step(f"verifying ({backend})"):
            results[backend] = api.verify_bundle(bundle, backend=backend, keys=pinning.InstalledKeys(tc),
                                                 expect=expect, toolchain=tc, chain=chain)
    ok = all(r.valid for r in results.values())
    gas_report = api.measure_gas(bundle, chain=chain, verifier=results["evm"].verifier_address) if ok else None
    claim = results["native"].claim
    human = "\n".join([
        f"bundle: {target}",
        *(f"{b}: {'VALID' if r.valid else 'INVALID'} ({r.reason})" for b, r in results.items()),
        f"claim: {claim.describe()}",
        f"key: {results['native'].key.describe()}; market, prices and threshold 1.0 pinned",
        *([f"verifyProof gas (in-process EVM): {gas_report.total} total, {gas_report.execution} execution "
           f"+ {gas_report.calldata} calldata + 21000 base"] if gas_report else []),
    ])
    _emit(ctx, {"ok": ok, "bundle": str(target), "verification": {b: r.to_json() for b, r in results.items()},
                "gas": gas_report.to_json() if gas_report else None}, human)
    ctx.exit(EXIT_OK if ok else EXIT_FALSE)


@cli.group(name="perp")
def perp_group() -> None:
    """Cross-margin perpetual accounts: equity against maintenance margin."""


def perp_files(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--prices", "prices_file", type=existing, required=True,
                     help="Perp prices and funding indices JSON.")(f)
    f = click.option("--markets", "markets_file", type=existing, required=True, help="Perp markets JSON.")(f)
    return click.argument("account_file", type=existing)(f)


def _perp_load(account_file: Path, markets_file: Path, prices_file: Path) -> tuple[Any, Any, Any]:
    markets = perp.load_markets(markets_file)
    return perp.load_account(account_file, markets), markets, perp.load_quotes(prices_file, markets)


def _ratio(text: str, field: str) -> int:
    try:
        dec = Decimal(text)
    except InvalidOperation:
        raise InputError(field, f"must be a decimal multiple of the maintenance margin, got {text!r}") from None
    bps = dec * 10_000
    if not dec.is_finite() or bps != bps.to_integral_value() or not 0 <= bps < 2**perp.RATIO_BITS:
        raise InputError(field, f"must be in [0, {(2**perp.RATIO_BITS - 1) / 10_000}] with at most 4 decimals")
    return int(bps)


@cli.command(name="scan")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--market", "market_file", type=existing, required=True, help="Market JSON.")
@click.option("--prices", "prices_file", type=existing, required=True, help="Price snapshot JSON.")
@click.option("--threshold", default="1.0", show_default=True, help="Prove HF < this.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for one bundle per liquidatable position and scan-report.json.")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), help="Warm prover workers (default: one per core).")
@click.option("--ptau", type=existing, help="Prepared powers-of-tau file from a real ceremony.")
@click.option("--ray", "ray_address", metavar="ADDRESS", help="Prove on the Ray cluster at HOST:PORT, or 'auto' for a "
              "local one; --workers is then proofs at once per node (needs pip install 'zkmargin[ray]').")
@json_option
@click.pass_context
def scan_cmd(ctx: click.Context, source: Path, market_file: Path, prices_file: Path, threshold: str, out_dir: Path,
             workers: int | None, ptau: Path | None, ray_address: str | None) -> None:
    """Evaluate every position in SOURCE (a directory of position files, or one JSON file of
    positions) and prove the liquidatable ones with warm provers; resumes an interrupted scan.
    Exit 0, or 2 if some positions could not be read (the others are still processed)."""
    check_outputs({"--out": out_dir}, {"SOURCE": source, "--market": market_file, "--prices": prices_file,
                                       "--ptau": ptau}, directories=frozenset({"--out"}))
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
        report = scan.scan(source, market, prices, out_dir, t, toolchain=_toolchain(ctx), workers=workers,
                           ptau=ptau, progress=_progress(ctx), on_start=start,
                           on_item=lambda item: bars[0].update(1) if bars else None,
                           ray=ray_address, ray_status=None if ctx.find_root().meta.get("quiet") else sys.stderr)
    finally:
        if bars:
            bars[0].__exit__(None, None, None)
    data = report.to_json()
    human = (f"scanned {data['scanned']}: {data['proven']} proven, {data['resumed']} already proven, "
             f"{data['healthy']} healthy, {data['errors']} unreadable; bundles in {out_dir}")
    for item in report.items:
        if item.status == "error":
            human += f"\n  {item.name}: {item.error}"
    _emit(ctx, {"ok": data["errors"] == 0, **data}, human)
    ctx.exit(EXIT_BAD_INPUT if data["errors"] else EXIT_OK)


@perp_group.command(name="health")
@perp_files
@json_option
@click.pass_context
def perp_health(ctx: click.Context, account_file: Path, markets_file: Path, prices_file: Path) -> None:
    """Equity and maintenance margin from the model (no proof). Exit 0 if liquidatable, else 1."""
    account, markets, quotes = _perp_load(account_file, markets_file, prices_file)
    m = perp.evaluate(account, markets, quotes)
    below = m.below(10_000)
    _emit(ctx, {"ok": True, "equity": str(m.equity), "maintenance_margin": str(m.maintenance), "liquidatable": below,
                "pnl": {k: str(v) for k, v in m.pnl.items()}},
          f"equity {m.equity} vs maintenance margin {m.maintenance} (quote, 8 decimals): "
          + ("liquidatable" if below else "not liquidatable"))
    ctx.exit(EXIT_OK if below else EXIT_FALSE)


@perp_group.command(name="prove")
@perp_files
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Bundle to write.")
@click.option("--ptau", type=existing, help="Prepared powers-of-tau file from a real ceremony.")
@json_option
@click.pass_context
def perp_prove(ctx: click.Context, account_file: Path, markets_file: Path, prices_file: Path, output: Path,
               ptau: Path | None) -> None:
    """Prove a committed perp account is liquidatable (equity < maintenance margin)."""
    check_outputs({"--output": output}, _inputs(account_file, markets_file, prices_file, ptau))
    account, markets, quotes = _perp_load(account_file, markets_file, prices_file)
    bundle = api.prove_perp_liquidation(account, markets, quotes, ptau=ptau, toolchain=_toolchain(ctx),
                                        progress=_progress(ctx))
    _save_and_report(ctx, bundle, output, markets.symbols)


@perp_group.command(name="attest")
@perp_files
@click.option("--ratio", default="1.0", show_default=True, help="Prove equity >= ratio x maintenance margin.")
@attestation_options
@json_option
@click.pass_context
def perp_attest(ctx: click.Context, account_file: Path, markets_file: Path, prices_file: Path, ratio: str, domain: str,
                expiry: int | None, ttl: int, nonce: int | None, output: Path, ptau: Path | None) -> None:
    """Prove a committed perp account holds equity >= ratio x maintenance margin."""
    check_outputs({"--output": output}, _inputs(account_file, markets_file, prices_file, ptau))
    account, markets, quotes = _perp_load(account_file, markets_file, prices_file)
    bundle = api.attest_perp_margin(account, markets, quotes, _ratio(ratio, "--ratio"),
                                    _context(domain, expiry, ttl, nonce), ptau=ptau, toolchain=_toolchain(ctx),
                                    progress=_progress(ctx))
    _save_and_report(ctx, bundle, output, markets.symbols)


@cli.group(name="ceremony")
def ceremony_group() -> None:
    """Multi-party phase-2 ceremony: start, contribute, beacon, verify, install."""


def _ptau_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--ptau", type=existing, required=True, help="Prepared powers-of-tau file.")(f)


@ceremony_group.command(name="start")
@click.argument("circuit")
@_ptau_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@json_option
@click.pass_context
def ceremony_start(ctx: click.Context, circuit: str, ptau: Path, output: Path) -> None:
    """Initial zkey (no contribution yet) for CIRCUIT from a prepared ptau."""
    check_outputs({"--output": output}, {"--ptau": ptau})
    compiled = ceremony.start(registry.get(circuit), ptau, output, _toolchain(ctx))
    _emit(ctx, {"ok": True, "zkey": str(output), "constraints": compiled.n_constraints},
          f"wrote {output} ({compiled.n_constraints} constraints); next: zkmargin ceremony contribute")


@ceremony_group.command(name="contribute")
@click.argument("zkey_in", type=existing)
@click.argument("zkey_out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Who contributes (recorded in the transcript).")
@json_option
@click.pass_context
def ceremony_contribute(ctx: click.Context, zkey_in: Path, zkey_out: Path, name: str) -> None:
    """Add a contribution with fresh entropy from the OS."""
    check_outputs({"ZKEY_OUT": zkey_out}, {"ZKEY_IN": zkey_in})
    ceremony.contribute(zkey_in, zkey_out, name, _toolchain(ctx))
    _emit(ctx, {"ok": True, "zkey": str(zkey_out)}, f"wrote {zkey_out}; pass it to the next participant")


@ceremony_group.command(name="beacon")
@click.argument("zkey_in", type=existing)
@click.argument("zkey_out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--beacon", "beacon_hex", required=True, help="Public random value in hex (e.g. a future block hash).")
@click.option("--iterations", type=int, default=10, show_default=True, help="2^n hash iterations.")
@click.option("--name", default="final beacon", show_default=True)
@json_option
@click.pass_context
def ceremony_beacon(ctx: click.Context, zkey_in: Path, zkey_out: Path, beacon_hex: str, iterations: int,
                    name: str) -> None:
    """Close the ceremony with a public random beacon."""
    check_outputs({"ZKEY_OUT": zkey_out}, {"ZKEY_IN": zkey_in})
    ceremony.beacon(zkey_in, zkey_out, beacon_hex, iterations, name, _toolchain(ctx))
    _emit(ctx, {"ok": True, "zkey": str(zkey_out)}, f"wrote {zkey_out}")


@ceremony_group.command(name="verify")
@click.argument("zkey", type=existing)
@click.option("--circuit", required=True)
@_ptau_option
@json_option
@click.pass_context
def ceremony_verify(ctx: click.Context, zkey: Path, circuit: str, ptau: Path) -> None:
    """Verify a zkey against the circuit and the ptau; print the transcript. Exit 0 valid, 1 not."""
    res = ceremony.verify_zkey(registry.get(circuit), ptau, zkey, _toolchain(ctx))
    _emit(ctx, {"ok": res.valid, "valid": res.valid, "transcript": res.transcript},
          "\n".join([f"{'VALID' if res.valid else 'INVALID'}: {zkey} for {circuit}", *res.transcript]))
    ctx.exit(EXIT_OK if res.valid else EXIT_FALSE)


@ceremony_group.command(name="install")
@click.argument("zkey", type=existing)
@click.option("--circuit", required=True)
@_ptau_option
@json_option
@click.pass_context
def ceremony_install(ctx: click.Context, zkey: Path, circuit: str, ptau: Path) -> None:
    """Verify a ceremony zkey and prove with it from now on (for this circuit and ptau)."""
    keys = ceremony.install(registry.get(circuit), ptau, zkey, _toolchain(ctx))
    _emit(ctx, {"ok": True, "vkey": str(keys.vkey_path)}, f"installed; verification key {keys.vkey_path}")


@ceremony_group.command(name="ptau-verify")
@click.argument("ptau_file", type=existing)
@json_option
@click.pass_context
def ceremony_ptau_verify(ctx: click.Context, ptau_file: Path) -> None:
    """Verify a (public) powers-of-tau file: its contributions and its phase-2 preparation."""
    info, res = ceremony.verify_ptau(ptau_file, _toolchain(ctx))
    label = " (the INSECURE development ptau)" if info.is_dev else ""
    _emit(ctx, {"ok": res.valid, "valid": res.valid, "power": info.power, "sha256": info.sha256,
                "insecure_dev": info.is_dev, "transcript": res.transcript},
          "\n".join([f"{'VALID' if res.valid else 'INVALID'}: {ptau_file}{label}, power {info.power}, "
                     f"sha256 {info.sha256}", *res.transcript]))
    ctx.exit(EXIT_OK if res.valid else EXIT_FALSE)


def main() -> None:
    cli(prog_name="zkmargin")


if __name__ == "__main__":
    main()
