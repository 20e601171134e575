"""On-chain verification benchmark: gas per circuit against 181k + 6.15k per public input,
and the time of a verification on the in-process EVM against an anvil round trip and
against one `snarkjs groth16 verify` CLI call, all measured in this run.

    .venv/bin/python benchmarks/onchain.py [--repeat 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from zkmargin import api, onchain
from zkmargin.bundle import Bundle
from zkmargin.evm import ANVIL_DEV_KEY, Chain, InProcessChain, RpcChain, start_anvil
from zkmargin.model import Asset, Market, Position, PricePoint, PriceSnapshot
from zkmargin.proc import run
from zkmargin.progress import StderrProgress
from zkmargin.settings import Settings
from zkmargin.statements import lending
from zkmargin.toolchain import Toolchain


def _bundle(n_assets: int, tc: Toolchain) -> Bundle:
    assets = tuple(Asset(f"T{i}", 18, 8000, 10500) for i in range(n_assets))
    market = Market(f"bench{n_assets}", assets)
    prices = PriceSnapshot({a.symbol: PricePoint(10**8, 1, 1) for a in assets})
    position = Position({"T0": 10**18}, {f"T{n_assets - 1}": 9 * 10**17}, 42)
    return lending.prove_liquidation(
        position, market, prices, settings=Settings(toolchain=tc, progress=StderrProgress())
    )


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    tc = Toolchain.discover()
    rows = []
    with start_anvil(tc) as url:
        for n_assets in (4, 8):
            b = _bundle(n_assets, tc)
            chains: dict[str, Chain] = {"pyrevm": InProcessChain(), "anvil": RpcChain(url, ANVIL_DEV_KEY)}
            row: dict[str, object] = {"circuit": b.circuit, "public_inputs": len(b.public_signals)}
            for name, chain in chains.items():
                addr = api.deploy_verifier(chain, b.vkey, Settings(toolchain=tc))
                report = onchain.measure_gas(chain, addr, b)
                row[f"gas_{name}"] = report.total
                row["gas_execution"] = report.execution
                row["gas_calldata"] = report.calldata
                row[f"verify_ms_{name}"] = _median_ms(lambda: onchain.verify_onchain(chain, addr, b), args.repeat)
            row["gas_formula"] = report.formula
            with tempfile.TemporaryDirectory() as d:
                for name, obj in (("vkey", b.vkey), ("public", b.public_signals), ("proof", b.proof)):
                    (Path(d) / f"{name}.json").write_text(json.dumps(obj))
                row["verify_ms_snarkjs_cli"] = _median_ms(
                    lambda: run(
                        tc.argv("snarkjs", "groth16", "verify", f"{d}/vkey.json", f"{d}/public.json", f"{d}/proof.json")
                    ),
                    max(3, args.repeat // 4),
                )
            rows.append(row)

    print(
        f"{'circuit':15} {'pub':>4} {'gas (pyrevm)':>13} {'gas (anvil)':>12} {'181k+6.15k*n':>13} "
        f"{'ratio':>6} {'exec':>8} {'calldata':>9}"
    )
    for r in rows:
        print(
            f"{r['circuit']:15} {r['public_inputs']:>4} {r['gas_pyrevm']:>13} {r['gas_anvil']:>12} "
            f"{r['gas_formula']:>13} {r['gas_pyrevm'] / r['gas_formula']:>6.2f} "  # type: ignore[operator]
            f"{r['gas_execution']:>8} {r['gas_calldata']:>9}"
        )
    print()
    print(
        f"{'circuit':15} {'pyrevm ms':>10} {'anvil ms':>9} {'snarkjs CLI ms':>15} {'anvil/pyrevm':>13} "
        f"{'CLI/pyrevm':>11}"
    )
    for r in rows:
        p, a, s = r["verify_ms_pyrevm"], r["verify_ms_anvil"], r["verify_ms_snarkjs_cli"]
        print(f"{r['circuit']:15} {p:>10.2f} {a:>9.2f} {s:>15.1f} {a / p:>13.2f} {s / p:>11.1f}")  # type: ignore[operator]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
