"""zkmargin's C prover and verifier against arkworks (the `groth16py` package, a bench-only peer:
GPL-3.0, never imported by zkmargin itself) on the same snarkjs zkey, the same witness and the
same cores, measured in one run: every timing alternates the two implementations, repetition
by repetition, and the medians are compared. Peak memory comes from one subprocess per
configuration (ru_maxrss), beside the memory of a process that only imported the libraries.

    .venv/bin/python benchmarks/peers.py [--reps 9] [--json benchmarks/peers.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zkmargin import build, groth16_fast, native_prover, registry
from zkmargin.build import CircuitKeys
from zkmargin.liquidation_step import step_inputs
from zkmargin.loaders import load_market, load_position, load_prices
from zkmargin.model import Asset, Market, Position, PricePoint, PriceSnapshot
from zkmargin.paths import FIXTURES_DIR
from zkmargin.statements import liquidation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator, write_wtns

BATCH = 64


def _liquidation_4() -> dict[str, InputValue]:
    market = load_market(FIXTURES_DIR / "market.json")
    prices = load_prices(FIXTURES_DIR / "prices.json", market)
    return liquidation_inputs(load_position(FIXTURES_DIR / "position-liquidatable.json", market), market, prices,
                              10**18).inputs


def _liquidation_8() -> dict[str, InputValue]:
    assets = tuple(Asset(f"T{i}", [18, 6, 8][i % 3], 8000, 10500) for i in range(7))
    prices = PriceSnapshot({a.symbol: PricePoint(10**8 + 7 * i, 1, 1) for i, a in enumerate(assets)})
    pos = Position({"T0": 10**18, "T1": 5 * 10**6}, {"T2": 9 * 10**8}, 4242)
    return liquidation_inputs(pos, Market("seven", assets), prices, 10**18).inputs


def _step_4() -> dict[str, InputValue]:
    assets = (Asset("WETH", 18, 8300, 10500), Asset("USDC", 6, 7800, 10450))
    prices = PriceSnapshot({"WETH": PricePoint(2500 * 10**8, 1, 1), "USDC": PricePoint(10**8, 1, 1)})
    pos = Position({"WETH": 10 * 10**18}, {"USDC": 22000 * 10**6}, 5)
    return step_inputs(pos, Market("step", assets), prices, "WETH", "USDC", 7500 * 10**6, 6)[1]


INPUTS: dict[str, Callable[[], dict[str, InputValue]]] = {
    "liquidation_4": _liquidation_4, "liquidation_8": _liquidation_8, "liquidation_step_4": _step_4}


def largest(tc: Toolchain) -> str:
    """The registered circuit with the most constraints (compiling, not setting up, each one)."""
    counts = {cid: build.compile_circuit(registry.get(cid), tc).n_constraints for cid in registry.load_registry()}
    return max(counts, key=lambda c: counts[c])


def interleaved(fns: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median wall time of each function, the functions taking turns within every repetition."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def _ark_proof_json(blob: bytes) -> dict[str, Any]:
    """groth16py's 256-byte proof (big-endian; G2 coordinates c1 before c0, EIP-197) as snarkjs JSON."""
    v = [str(int.from_bytes(blob[32 * i:32 * i + 32], "big")) for i in range(8)]
    return {"pi_a": [v[0], v[1], "1"], "pi_b": [[v[3], v[2]], [v[5], v[4]], ["1", "0"]], "pi_c": [v[6], v[7], "1"],
            "protocol": "groth16", "curve": "bn128"}


def _zk_proof_blob(proof: dict[str, Any]) -> bytes:
    a, b, c = proof["pi_a"], proof["pi_b"], proof["pi_c"]
    coords = [a[0], a[1], b[0][1], b[0][0], b[1][1], b[1][0], c[0], c[1]]
    return b"".join(int(x).to_bytes(32, "big") for x in coords)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(what: str, zkey: str, wtns: str) -> None:
    """One memory configuration in this fresh process: resident memory before loading the key,
    after loading it, and the peak while proving (VmHWM, reset after the load through
    /proc/self/clear_refs, so that neither the imports nor the key's parsing count)."""
    import groth16py

    from zkmargin.witness import read_wtns

    witness = read_wtns(Path(wtns))
    before = _rss_kib("VmRSS")
    if what == "arkworks":
        pk, _ = groth16py.import_zkey(zkey)
        prove: Callable[[], object] = lambda: groth16py.prove_wtns(pk, wtns)
    else:
        p = native_prover.NativeProver(Path(zkey))
        if what == "zkmargin":
            p.build_tables()
        prove = lambda: p.prove(witness, threads=2)
    loaded = _rss_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    prove()
    print(json.dumps({"before": before, "loaded": loaded, "peak": _rss_kib("VmHWM")}))


def memory(what: str, zkey: Path, wtns: Path) -> dict[str, float]:
    """MiB: the key in memory (parsed, with tables for zkmargin), and the peak while proving."""
    out = subprocess.run([sys.executable, __file__, "--child", what, str(zkey), str(wtns)], check=True,
                         capture_output=True, text=True).stdout
    kib = json.loads(out)
    return {"key_mib": (kib["loaded"] - kib["before"]) / 1024, "peak_mib": (kib["peak"] - kib["before"]) / 1024}


def bench_circuit(cid: str, tc: Toolchain, reps: int, tmp: Path) -> dict[str, Any]:
    import groth16py

    keys: CircuitKeys = build.build(registry.get(cid), tc)
    witness = WitnessCalculator(keys.compiled.wasm).calculate(INPUTS[cid]())
    wtns = tmp / f"{cid}.wtns"
    write_wtns(wtns, witness)
    t0 = time.perf_counter()
    zk = native_prover.NativeProver(keys.zkey)
    t1 = time.perf_counter()
    zk.build_tables()
    t2 = time.perf_counter()
    pk, vk = groth16py.import_zkey(str(keys.zkey))
    load_s, tables_s, ark_load_s = t1 - t0, t2 - t1, time.perf_counter() - t2
    n_pub = len(keys.compiled.public_signals)
    public = [str(v) for v in witness[1:1 + n_pub]]
    pub_ints = witness[1:1 + n_pub]

    # both provers' proofs checked by both verifiers before anything is timed
    prepared = groth16_fast.PreparedKey(keys.vkey())
    ark = groth16py.Verifier(vk)
    zk_proof, _ = zk.prove(witness, threads=2)
    ark_blob = groth16py.prove_wtns(pk, str(wtns))
    assert groth16_fast.verify(prepared, public, zk_proof, "c").valid
    assert groth16_fast.verify(prepared, public, _ark_proof_json(ark_blob), "c").valid
    assert ark.verify(_zk_proof_blob(zk_proof), pub_ints) and ark.verify(ark_blob, pub_ints)

    row: dict[str, Any] = {"circuit": cid, "constraints": keys.compiled.n_constraints, "load_s_zkmargin": load_s,
                           "tables_s_zkmargin": tables_s, "tables_mib_zkmargin": zk.tables_bytes / 2**20,
                           "load_s_arkworks": ark_load_s}
    t = interleaved({"zkmargin": lambda: zk.prove(witness, threads=2),
                     "arkworks": lambda: groth16py.prove_wtns(pk, str(wtns))}, reps)
    row["prove_s_zkmargin"], row["prove_s_arkworks"] = t["zkmargin"], t["arkworks"]
    batch = [(public, zk.prove(witness, threads=2)[0]) for _ in range(8)] * (BATCH // 8)
    t = interleaved({"zkmargin": lambda: groth16_fast.verify(prepared, public, zk_proof, "c"),
                     "arkworks": lambda: ark.verify(ark_blob, pub_ints),
                     "batch": lambda: groth16_fast.verify_batch(prepared, batch, "c")}, reps * 3)
    row["verify_s_zkmargin"], row["verify_s_arkworks"] = t["zkmargin"], t["arkworks"]
    row[f"verify_batch{BATCH}_s_zkmargin"] = t["batch"]
    for what in ("zkmargin", "zkmargin_no_tables", "arkworks"):
        row.update({f"{k}_{what}": v for k, v in memory(what, keys.zkey, wtns).items()})
    return row


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--circuits", nargs="*", default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    tc = Toolchain.discover()
    circuits = args.circuits or list(dict.fromkeys([*INPUTS, largest(tc)]))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for cid in circuits:
            rows.append(bench_circuit(cid, tc, args.reps, Path(d)))
            r = rows[-1]
            print(f"{cid:20} {r['constraints']:>6} prove {r['prove_s_zkmargin'] * 1e3:7.1f} / "
                  f"{r['prove_s_arkworks'] * 1e3:7.1f} ms = {r['prove_s_zkmargin'] / r['prove_s_arkworks']:.2f}x  "
                  f"verify {r['verify_s_zkmargin'] * 1e3:5.2f} / {r['verify_s_arkworks'] * 1e3:5.2f} ms = "
                  f"{r['verify_s_zkmargin'] / r['verify_s_arkworks']:.2f}x  batch64 "
                  f"{r['verify_batch64_s_zkmargin'] / r['verify_s_zkmargin']:.1f}x one  "
                  f"mem key/peak {r['key_mib_zkmargin']:.0f}/{r['peak_mib_zkmargin']:.0f} "
                  f"(no tables {r['key_mib_zkmargin_no_tables']:.0f}/{r['peak_mib_zkmargin_no_tables']:.0f}) ark "
                  f"{r['key_mib_arkworks']:.0f}/{r['peak_mib_arkworks']:.0f} MiB  tables {r['tables_s_zkmargin']:.2f} s",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
