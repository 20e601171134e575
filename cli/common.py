"""What every command shares: exit codes and the one place exceptions become them, --json and -q,
the settings built from the global options, and the option groups several commands take.

  0  success, or the proof is valid
  1  the statement is false (e.g. the position is not liquidatable) or the proof is invalid
  2  bad input, bad environment or broken artifacts (the message names the field)
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from zkmargin import perp, pinning, verifiers
from zkmargin.attestation import CONTEXT_MAX, DEFAULT_TTL, MAX_EXPIRY, AttestationContext
from zkmargin.bundle import Bundle, decode_claim
from zkmargin.errors import InputError, StatementFalse, ZkMarginError
from zkmargin.limits import RPC_TIMEOUT
from zkmargin.loaders import load_market, load_position, load_prices, parse_threshold
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.progress import NullProgress, Progress, StderrProgress
from zkmargin.settings import Settings
from zkmargin.toolchain import Toolchain

if TYPE_CHECKING:
    from zkmargin.api import BundleVerification
    from zkmargin.evm import Chain

EXIT_OK, EXIT_FALSE, EXIT_BAD_INPUT = 0, 1, 2


def emit(ctx: click.Context, payload: dict[str, Any], human: str) -> None:
    if ctx.meta.get("json"):
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(human)


def fail(ctx: click.Context, err: BaseException, code: int) -> NoReturn:
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
        _log_to_stderr(quiet=bool(ctx.meta.get("quiet")))
        try:
            return super().invoke(ctx)
        except StatementFalse as e:
            fail(ctx, e, EXIT_FALSE)
        except ZkMarginError as e:
            fail(ctx, e, EXIT_BAD_INPUT)
        except OSError as e:  # a file the user named cannot be read or written: say which, no traceback
            fail(ctx, InputError(str(e.filename or "path"), e.strerror or str(e)), EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            click.echo("zkmargin: interrupted", err=True)
            ctx.exit(130)

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's main, but a usage error (missing file or option, a value out of range) is exit 2
        and, with --json anywhere on the command line, a JSON object on stdout like every other error."""
        argv = list(args) if args is not None else sys.argv[1:]
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as e:
            if "--json" in argv:
                payload = {
                    "ok": False,
                    "exit_code": EXIT_BAD_INPUT,
                    "error": e.format_message(),
                    "type": type(e).__name__,
                }
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


class _StderrHandler(logging.Handler):
    """The library's warnings (logger "zkmargin") on the current stderr; -q silences them."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def _log_to_stderr(quiet: bool) -> None:
    log = logging.getLogger("zkmargin")
    for h in [h for h in log.handlers if isinstance(h, _StderrHandler)]:
        log.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.ERROR if quiet else logging.WARNING)
    log.propagate = False


def _set_meta(key: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
    def set_flag(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:  # given before or after the subcommand, either one sets it
            ctx.find_root().meta[key] = True
        return value

    return set_flag


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--json and -q, accepted after the subcommand as well as before it."""
    f = click.option(
        "-q",
        "--quiet",
        "quiet_flag",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_meta("quiet"),
        help="No progress output on stderr.",
    )(f)
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_meta("json"),
        help="Machine-readable JSON on stdout.",
    )(f)


def progress_of(ctx: click.Context) -> Progress:
    return NullProgress() if ctx.find_root().meta.get("quiet") else StderrProgress()


def toolchain_of(ctx: click.Context) -> Toolchain:
    root = ctx.find_root().params
    return Toolchain.discover(root.get("node"), root.get("node_modules"), root.get("prover"))


def settings_of(ctx: click.Context, ptau: Path | None = None) -> Settings:
    return Settings(toolchain=toolchain_of(ctx), ptau=ptau, progress=progress_of(ctx))


existing = click.Path(exists=True, dir_okay=False, path_type=Path)
output_file = click.Path(dir_okay=False, path_type=Path)


def ptau_option(required: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def add(f: Callable[..., Any]) -> Callable[..., Any]:
        return click.option(
            "--ptau",
            type=existing,
            required=required,
            help="Prepared powers-of-tau file" + ("." if required else " from a real ceremony."),
        )(f)

    return add


def attestation_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Context of an attestation, output and ptau: shared by `attest` and `perp attest`."""
    for opt in reversed(
        [
            click.option("--domain", required=True, help="The verifier this attestation is for (e.g. its name)."),
            click.option(
                "--expiry",
                type=click.IntRange(0, MAX_EXPIRY),
                help="Unix time after which verifiers refuse it, in the future (default: now + --ttl).",
            ),
            click.option(
                "--ttl",
                type=click.IntRange(1, MAX_EXPIRY),
                default=DEFAULT_TTL,
                show_default=True,
                help="Seconds of validity when --expiry is absent.",
            ),
            click.option(
                "--nonce",
                type=click.IntRange(0, CONTEXT_MAX),
                help="Nonce the verifier asked for (default: 64 random bits).",
            ),
            click.option("-o", "--output", type=output_file, required=True, help="Bundle to write."),
        ]
    ):
        f = opt(f)
    return ptau_option()(f)


def attestation_context(domain: str, expiry: int | None, ttl: int, nonce: int | None) -> AttestationContext:
    return AttestationContext.create(domain, expiry, ttl, nonce)


def save_and_report(ctx: click.Context, bundle: Bundle, output: Path, symbols: tuple[str, ...], **extra: str) -> None:
    """Write the bundle atomically and print its claim (decoded from the public signals; the
    slots named from the market the prover itself loaded)."""
    bundle.save(output)
    claim = decode_claim(bundle, symbols)
    written = " and ".join([str(output), *extra.values()])
    emit(
        ctx,
        {"ok": True, "bundle": str(output), **extra, "claim": claim.to_json()},
        f"wrote {written}\nclaim: {claim.describe()}",
    )


def proving_inputs(position: Path, market: Path, prices: Path, ptau: Path | None) -> dict[str, Path | None]:
    """The files a proving command reads, which no output may overwrite."""
    return {"POSITION": position, "--market": market, "--prices": prices, "--ptau": ptau}


def load_lending(position_file: Path, market_file: Path, prices_file: Path) -> tuple[Position, Market, PriceSnapshot]:
    market = load_market(market_file)
    return load_position(position_file, market), market, load_prices(prices_file, market)


def _address(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise click.BadParameter("must be a 20-byte address: 0x followed by 40 hex digits")
    return value


def chain_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--private-key",
        envvar="ZKMARGIN_PRIVATE_KEY",
        help="Key that signs deployments on --rpc-url (env ZKMARGIN_PRIVATE_KEY).",
    )(f)
    f = click.option(
        "--verifier",
        "verifier_address",
        callback=_address,
        help="An already deployed verifier to call (0x + 40 hex digits).",
    )(f)
    f = click.option(
        "--rpc-timeout",
        type=click.FloatRange(0.1, 600),
        default=RPC_TIMEOUT,
        show_default=True,
        help="Seconds to wait for each JSON-RPC request (not retried).",
    )(f)
    return click.option("--rpc-url", help="JSON-RPC node (default: an in-process EVM, pyrevm).")(f)


def make_chain(rpc_url: str | None, private_key: str | None, rpc_timeout: float = RPC_TIMEOUT) -> Chain:
    evm = verifiers.evm_module()
    chain: Chain = evm.RpcChain(rpc_url, private_key, rpc_timeout) if rpc_url else evm.InProcessChain()
    return chain


def pin_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """What a verifier pins: the key (never the bundle's alone) and the statement's parameters."""
    for opt in reversed(
        [
            click.option("--vkey", type=existing, help="The verification key you trust (vkey.json)."),
            click.option("--manifest", type=existing, help="A build manifest: pins the circuit and the key's sha256."),
            click.option(
                "--insecure-embedded-key",
                "inspect_embedded",
                is_flag=True,
                help="INSPECTION ONLY: check the proof under the bundle's own key; never reports valid.",
            ),
            click.option(
                "--market",
                "market_file",
                type=existing,
                help="Lending: require this market's slots, decimals and risk parameters.",
            ),
            click.option("--markets", "perp_markets_file", type=existing, help="Perps: require these perp markets."),
            click.option(
                "--prices",
                "prices_file",
                type=existing,
                help="Require these oracle prices (with --market, or perp prices with --markets).",
            ),
            click.option("--threshold", help="Liquidation: require the proven HF threshold to be this (e.g. 1.0)."),
            click.option("--min-hf", help="Solvency attestation: require this minimum HF."),
            click.option("--ratio", help="Perps: require this multiple of the maintenance margin."),
            click.option("--domain", help="Attestations: the domain you verify for (required for them)."),
            click.option(
                "--at",
                "at_time",
                type=click.IntRange(0, CONTEXT_MAX),
                help="Attestations: check expiry at this unix time (default: now).",
            ),
        ]
    ):
        f = opt(f)
    return f


def expectations(
    market_file: Path | None,
    perp_markets_file: Path | None,
    prices_file: Path | None,
    threshold: str | None,
    min_hf: str | None,
    ratio: str | None,
) -> pinning.Expectations:
    names = {
        "market": "--market",
        "prices": "--prices",
        "threshold": "--threshold",
        "min_hf": "--min-hf",
        "perp_markets": "--markets",
        "perp_quotes": "--prices",
        "ratio_bps": "--ratio",
    }
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
        ratio_bps=perp.parse_ratio(ratio) if ratio is not None else None,
        names=names,
    )


def pins_text(res: BundleVerification) -> list[str]:
    lines = [f"key: {res.key.sha256} {res.key.describe()}"]
    if res.unpinned:
        lines.append(
            f"statement not pinned: {', '.join(res.unpinned)} (the claim states what was proven; "
            "pass them to require your own values)"
        )
    return lines
