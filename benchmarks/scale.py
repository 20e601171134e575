"""Scale benchmark (issue: fast at scale). For the 4- and 8-asset circuits, measured in one run:
witness time (Python wasmtime vs `snarkjs wtns calculate`), proofs/s (the native prover pool and
the warm snarkjs worker pool vs one `snarkjs groth16 prove` CLI call per proof, all on every
core), one native proof's latency, verification time (the C engine warm and one-shot, the
pure-Python engine, the py_ecc reference, `snarkjs groth16 verify` CLI; a batch of 64 on every
core and on one, vs one), verification gas (plain vs hashed layout, plus the on-chain Poseidon
a contract pays to recompute the prices hash), constraint counts; then, in the same run, the
comparison with arkworks of benchmarks/peers.py (proving, verification, memory).

    .venv/bin/python benchmarks/scale.py [--proofs 32] [--reps 9] [--json benchmarks/results.json] [--png benchmarks/results.png]
    .venv/bin/python benchmarks/scale.py --readme   # README.md's block from the JSON, nothing measured
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peers
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from readme_block import rewrite_block

from zkmargin import api, build, groth16_fast, onchain, prover, registry, scan, solidity
from zkmargin.evm import InProcessChain
from zkmargin.groth16 import verify as reference_verify
from zkmargin.loaders import position_to_json
from zkmargin.model import Asset, Market, Position, PricePoint, PriceSnapshot
from zkmargin.proc import run
from zkmargin.progress import StderrProgress
from zkmargin.settings import Settings
from zkmargin.statements.lending import liquidation_hashed_inputs, liquidation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.warm_prover import ProverPool
from zkmargin.witness import WitnessCalculator, write_wtns


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time in seconds."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def case(n: int) -> tuple[Market, PriceSnapshot, list[Position]]:
    assets = tuple(Asset(f"T{i}", [18, 6, 8, 18][i % 4], 8000, 10500) for i in range(n))
    market = Market(f"bench{n}", assets)
    prices = PriceSnapshot({a.symbol: PricePoint(10**8 + i, 1, 1) for i, a in enumerate(assets)})
    positions = [Position({"T0": 10**18}, {"T2": 9 * 10**7 + k}, 1000 + k) for k in range(64)]
    return market, prices, positions


def bench_size(n: int, proofs: int, tc: Toolchain, progress: StderrProgress) -> dict[str, Any]:
    market, prices, positions = case(n)
    keys = build.build(registry.for_assets("liquidation", n), tc, progress=progress)
    hkeys = build.build(registry.for_assets("liquidation_hashed", n), tc, progress=progress)
    calc = WitnessCalculator(keys.compiled.wasm)
    inputs = [liquidation_inputs(p, market, prices, 10**18).inputs for p in positions[:proofs]]
    row: dict[str, Any] = {
        "circuit": keys.compiled.spec.id,
        "assets": n,
        "constraints": keys.compiled.n_constraints,
        "constraints_hashed": hkeys.compiled.n_constraints,
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "input.json").write_text(
            json.dumps({k: (str(v) if isinstance(v, int) else [str(x) for x in v]) for k, v in inputs[0].items()})
        )
        with progress.step(f"witness timing ({n} assets)"):
            row["witness_s_python"] = timed(lambda: calc.calculate(inputs[0]), 5)
            row["witness_s_snarkjs_cli"] = timed(
                lambda: run(
                    tc.argv("snarkjs", "wtns", "calculate", keys.compiled.wasm, tmp / "input.json", tmp / "w.wtns")
                ),
                3,
            )
        witnesses = [calc.calculate(i) for i in inputs]
        native_tc, snarkjs_tc = (dataclasses.replace(tc, prover=b) for b in ("c", "snarkjs"))
        with progress.step(f"proving {proofs} proofs: native pool, snarkjs pool, snarkjs CLI ({n} assets)"):
            results = []
            for name, ptc, count in (("native_pool", native_tc, proofs), ("snarkjs_pool", snarkjs_tc, min(proofs, 8))):
                with ProverPool(keys, ptc) as pool:
                    pool.prove_many(witnesses[: pool.size])  # load the key / start the workers
                    t = time.perf_counter()
                    results = (
                        pool.prove_many(witnesses[:count]) if name == "snarkjs_pool" else pool.prove_many(witnesses)
                    )
                    row[f"proofs_per_s_{name}"] = count / (time.perf_counter() - t)
                    row["pool_workers"] = pool.size
            native_results = [prover.prove(keys, w, native_tc) for w in witnesses[:2]]
            row["prove_s_native_one"] = timed(lambda: prover.prove(keys, witnesses[0], native_tc), 5)
            cli = min(proofs, 4)
            t = time.perf_counter()
            for k in range(cli):
                write_wtns(tmp / "w.wtns", witnesses[k])
                run(tc.argv("snarkjs", "groth16", "prove", keys.zkey, tmp / "w.wtns", tmp / "p.json", tmp / "pub.json"))
            row["proofs_per_s_snarkjs_cli"] = cli / (time.perf_counter() - t)
            # end to end, as a liquidator runs it: read, evaluate, witness, prove, write bundles
            src = tmp / "positions"
            src.mkdir()
            for k, pos in enumerate(positions[:proofs]):
                (src / f"p{k:03d}.json").write_text(json.dumps(position_to_json(pos)))
            t = time.perf_counter()
            report = scan.scan(src, market, prices, tmp / "bundles", 10**18, Settings(toolchain=native_tc))
            row["scan_positions_per_s"] = proofs / (time.perf_counter() - t)
            assert sum(item.status == "proven" for item in report.items) == proofs
        vkey = keys.vkey()
        proof, public = native_results[0]
        for name, obj in (("vkey", vkey), ("public", public), ("proof", proof)):
            (tmp / f"{name}.json").write_text(json.dumps(obj))
        with progress.step(f"verification timing ({n} assets)"):
            prepared = groth16_fast.PreparedKey(vkey)
            row["verify_s_native"] = timed(lambda: groth16_fast.verify(prepared, public, proof, "c"), 21)
            row["verify_s_native_oneshot"] = timed(
                lambda: groth16_fast.verify(
                    groth16_fast.PreparedKey(json.loads((tmp / "vkey.json").read_text())), public, proof, "c"
                ),
                11,
            )
            row["verify_s_python"] = timed(lambda: groth16_fast.verify(prepared, public, proof, "python"), 5)
            row["verify_s_reference"] = timed(lambda: reference_verify(vkey, public, proof), 1)
            row["verify_s_snarkjs_cli"] = timed(
                lambda: run(
                    tc.argv("snarkjs", "groth16", "verify", tmp / "vkey.json", tmp / "public.json", tmp / "proof.json")
                ),
                3,
            )
            # 64 distinct proofs (the pool's, repeated as needed): a batch of one proof 64 times
            # would let nothing be skipped anyway, but distinct ones are what a keeper sees
            batch = [(pub, pr) for pr, pub in results + native_results] * 64
            batch = batch[:64]
            row["verify_batch64_s_native"] = timed(lambda: groth16_fast.verify_batch(prepared, batch, "c"), 7)
            row["verify_batch64_s_native_1thread"] = timed(
                lambda: groth16_fast.verify_batch(prepared, batch, "c", threads=1), 7
            )
            row["verify_batch64_s_python"] = timed(lambda: groth16_fast.verify_batch(prepared, batch, "python"), 1)
            assert groth16_fast.verify_batch(prepared, batch, "c").valid
    with progress.step(f"gas, plain vs hashed ({n} assets)"):
        chain = InProcessChain()
        plain = api.make_bundle(keys, proof, public, {})
        row["gas_plain"] = api.measure_gas(plain, chain=chain, settings=Settings(toolchain=tc)).total
        hstmt = liquidation_hashed_inputs(positions[0], market, prices, 10**18)
        hw = WitnessCalculator(hkeys.compiled.wasm).calculate(hstmt.inputs)
        hproof, hpublic = prover.prove(hkeys, hw, tc)
        hashed = api.make_bundle(hkeys, hproof, hpublic, {})
        row["gas_hashed"] = api.measure_gas(hashed, chain=chain, settings=Settings(toolchain=tc)).total
        row["gas_formula_plain"] = onchain.FORMULA_BASE + onchain.FORMULA_PER_INPUT * len(public)
        row["gas_onchain_prices_hash"] = prices_hash_gas(n, chain, tc)
    return row


def prices_hash_gas(n: int, chain: InProcessChain, tc: Toolchain) -> int:
    """Execution gas a contract pays to recompute the hashed layout's prices hash on-chain
    with circomlibjs's EVM Poseidon (chunks of 4, then the chunk hashes)."""

    def call(k: int, values: list[int]) -> int:
        c = solidity.poseidon_contract(k, tc)
        addr = chain.deploy(c.bytecode)
        data = keccak(text=f"poseidon(uint256[{k}])")[:4] + encode([f"uint256[{k}]"], [values])
        return chain.transact(addr, data).gas_used - 21_000 - onchain.calldata_gas(data)

    if n <= 4:
        return call(n, list(range(1, n + 1)))
    return (n // 4) * call(4, [1, 2, 3, 4]) + call(n // 4, list(range(1, n // 4 + 1)))


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, grid = plt.subplots(2, 3, figsize=(18, 9))
    axes = grid.flatten()
    # one more column for the batch panel: what 64 separate verifications would cost
    scale_rows = [{**r, "verify_64_singles_s": 64 * r["verify_s_native"]} for r in results["scale"]]
    peer_rows = [
        {**r, **{k: r[k] * 1000 for k in r if k.startswith(("prove_s", "verify_s", "verify_batch"))}}
        for r in results["peers"]
    ]

    def bars(
        ax: Any, keys: list[tuple[str, str]], title: str, ylabel: str, rows: list[dict[str, Any]] = scale_rows
    ) -> None:
        x = range(len(rows))
        w = 0.8 / len(keys)
        for j, (k, name) in enumerate(keys):
            ax.bar([i + j * w for i in x], [r[k] for r in rows], w, label=name)
        ax.set_xticks([i + w * (len(keys) - 1) / 2 for i in x], [r["circuit"] for r in rows], fontsize=8)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)

    bars(
        axes[0],
        [
            ("proofs_per_s_native_pool", "native pool"),
            ("proofs_per_s_snarkjs_pool", "snarkjs pool"),
            ("proofs_per_s_snarkjs_cli", "snarkjs CLI per proof"),
        ],
        "proving throughput",
        "proofs / s",
    )
    bars(
        axes[1],
        [
            ("verify_s_native", "native (C)"),
            ("verify_s_python", "native (Python)"),
            ("verify_s_snarkjs_cli", "snarkjs CLI"),
            ("verify_s_reference", "py_ecc reference"),
        ],
        "single verification",
        "seconds",
    )
    axes[1].set_yscale("log")
    bars(
        axes[2],
        [
            ("verify_batch64_s_native", "C, all cores"),
            ("verify_batch64_s_native_1thread", "C, one core"),
            ("verify_64_singles_s", "64 single C verifications"),
        ],
        "batch of 64 proofs",
        "seconds",
    )
    bars(axes[3], [("gas_plain", "plain layout"), ("gas_hashed", "hashed layout")], "verifyProof gas", "gas")
    bars(
        axes[4],
        [
            ("prove_s_zkmargin", "zkmargin (tables)"),
            ("prove_s_zkmargin_no_tables", "zkmargin (no tables)"),
            ("prove_s_arkworks", "arkworks"),
        ],
        "one proof on 2 threads",
        "ms",
        peer_rows,
    )
    bars(
        axes[5],
        [
            ("verify_s_zkmargin", "zkmargin, one"),
            ("verify_s_arkworks", "arkworks, one"),
            ("verify_batch64_s_zkmargin", "zkmargin, batch of 64"),
        ],
        "verification",
        "ms",
        peer_rows,
    )
    axes[5].set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(results: dict[str, Any]) -> str:
    """Every table of a run, as printed and as README.md shows it."""
    rows = results["scale"]
    machine = results.get("machine", {})
    load = machine.get("load_average_1min", [float("nan")] * 2)
    out = [
        f"{machine.get('cpus', '?')} cores; load average (1 min) {load[0]:.1f} when the run started, {load[1]:.1f} when it "
        "ended (other work shares the cores: compare ratios measured in one run, not absolute times)",
        "",
        "proving (proofs/s on all cores; x = against one snarkjs CLI call per proof; scan = liquidatable",
        "positions/s through `zkmargin scan`, witnesses and bundle files included)",
        f"{'circuit':15} {'constr':>7} {'hashed':>7} {'wit py ms':>9} {'wit cli ms':>10} {'native':>7} "
        f"{'x':>5} {'snarkjs pool':>12} {'x':>5} {'cli':>5} {'1 native ms':>11} {'scan':>5}",
    ]
    for r in rows:
        cli = r["proofs_per_s_snarkjs_cli"]
        out.append(
            f"{r['circuit']:15} {r['constraints']:>7} {r['constraints_hashed']:>7} "
            f"{r['witness_s_python'] * 1000:>9.1f} {r['witness_s_snarkjs_cli'] * 1000:>10.1f} "
            f"{r['proofs_per_s_native_pool']:>7.2f} {r['proofs_per_s_native_pool'] / cli:>5.1f} "
            f"{r['proofs_per_s_snarkjs_pool']:>12.2f} {r['proofs_per_s_snarkjs_pool'] / cli:>5.1f} {cli:>5.2f} "
            f"{r['prove_s_native_one'] * 1000:>11.1f} {r['scan_positions_per_s']:>5.2f}"
        )
    out += [
        "",
        "verification (ms; native = the C engine with a prepared key; one-shot = parsing and preparing the key too)",
        f"{'circuit':15} {'native':>7} {'one-shot':>8} {'python':>7} {'py_ecc':>7} {'cli':>7} {'native/cli':>10} "
        f"{'batch64':>8} {'/1':>5} {'1 thread':>8} {'/1':>5} {'python':>7} {'/1':>5}",
    ]
    for r in rows:
        one = r["verify_s_native"]
        out.append(
            f"{r['circuit']:15} {one * 1000:>7.2f} {r['verify_s_native_oneshot'] * 1000:>8.2f} "
            f"{r['verify_s_python'] * 1000:>7.1f} {r['verify_s_reference'] * 1000:>7.1f} "
            f"{r['verify_s_snarkjs_cli'] * 1000:>7.1f} {one / r['verify_s_snarkjs_cli']:>10.3f} "
            f"{r['verify_batch64_s_native'] * 1000:>8.1f} {r['verify_batch64_s_native'] / one:>5.1f} "
            f"{r['verify_batch64_s_native_1thread'] * 1000:>8.1f} "
            f"{r['verify_batch64_s_native_1thread'] / one:>5.1f} {r['verify_batch64_s_python'] * 1000:>7.0f} "
            f"{r['verify_batch64_s_python'] / r['verify_s_python']:>5.1f}"
        )
    out += ["", f"{'circuit':15} {'gas plain':>9} {'181k+6.15k*n':>12} {'gas hashed':>10} {'+prices hash':>12}"]
    for r in rows:
        out.append(
            f"{r['circuit']:15} {r['gas_plain']:>9} {r['gas_formula_plain']:>12} {r['gas_hashed']:>10} "
            f"{r['gas_onchain_prices_hash']:>12}"
        )
    return "\n".join(out) + "\n\n" + peers.report(results["peers"])


BEGIN, END = "<!-- benchmarks/scale.py --readme: begin -->", "<!-- benchmarks/scale.py --readme: end -->"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proofs", type=int, default=32, help="proofs for the native pool (snarkjs: at most 8, CLI: 4)")
    ap.add_argument("--reps", type=int, default=9, help="repetitions per timing against arkworks")
    ap.add_argument("--json", type=Path, default=Path("benchmarks/results.json"))
    ap.add_argument("--png", type=Path, default=Path("benchmarks/results.png"))
    ap.add_argument("--readme", action="store_true", help="rewrite README.md's tables from --json, measuring nothing")
    args = ap.parse_args()
    if args.readme:
        rewrite_block(Path("README.md"), BEGIN, END, "```\n" + report(json.loads(args.json.read_text())) + "```\n")
        print(f"README.md: tables rewritten from {args.json}")
        return
    tc = Toolchain.discover()
    progress = StderrProgress()
    load_start = os.getloadavg()[0]
    rows = [bench_size(n, args.proofs, tc, progress) for n in (4, 8)]
    with progress.step("against arkworks (proving, verification, memory)"):
        results: dict[str, Any] = {"scale": rows, "peers": peers.bench(tc, args.reps)}
    results["machine"] = {"cpus": os.cpu_count(), "load_average_1min": [load_start, os.getloadavg()[0]]}
    print(report(results), end="")
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    try:
        chart(results, args.png)
        print(f"\nwrote {args.json} and {args.png}")
    except ImportError:
        print(f"\nwrote {args.json} (install matplotlib for the chart: pip install -e '.[bench]')")


if __name__ == "__main__":
    main()
