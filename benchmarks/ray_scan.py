"""Ray benchmark (issue 16 part 3, "Beyond one machine"), measured in one run on this machine:
positions/s through RayProverPool with 1 and 2 proving workers (one actor with 1 or 2 threads;
and two single-CPU nodes, i.e. two actors, with ray.cluster_utils) against the local ProverPool
with as many threads, on the same positions, rounds interleaved so that both see the same load;
the witness on the worker vs on the driver; end-to-end `scan` (bundles written) with and without
Ray and the driver's CPU per position; the cost of an actor call (scheduling overhead).

    .venv/bin/python benchmarks/ray_scan.py [--positions 40] [--rounds 3] [--json benchmarks/ray_results.json]

Ray instances run on 127.0.0.1 only. Every rate is positions/s of liquidatable positions (a
witness and a proof each); "best" is the best round, "median" the median round.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # before Ray is imported: 127.0.0.1 only
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from zkmargin import build, paths, ray_prover, registry, scan
from zkmargin.loaders import load_market, load_prices, position_to_json
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.progress import StderrProgress
from zkmargin.settings import Settings
from zkmargin.statements.lending import liquidation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.warm_prover import ProverPool
from zkmargin.witness import InputValue, WitnessCalculator

Inputs = dict[str, InputValue]


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu() -> float:
    """CPU seconds of this process and every live descendant (a local Ray instance: GCS, raylet,
    workers, actors), from /proc: on a shared machine, CPU per position is the figure that other
    load does not distort, where wall time is."""
    parent, cpu = {}, {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        parent[int(d.name)] = int(fields[1])
        cpu[int(d.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    me, total = os.getpid(), 0.0
    for pid, t in cpu.items():
        p = pid
        while p > 1 and p != me:
            p = parent.get(p, 0)
        if p == me:
            total += t
    return total


def timed(n: int, fn: Callable[[], object], cpu: Callable[[], float]) -> tuple[float, float]:
    """(positions/s, CPU ms a position) of fn proving n positions."""
    t, c = time.perf_counter(), cpu()
    fn()
    return n / (time.perf_counter() - t), (cpu() - c) / n * 1000


def summary(rates: list[float]) -> dict[str, float]:
    return {"best": max(rates), "median": statistics.median(rates)}


def positions(market: Market, prices: PriceSnapshot, n: int) -> list[Position]:
    """Liquidatable positions at the fixture prices, all different."""
    out = [
        Position({"WETH": 10 * 10**18, "USDC": 5000 * 10**6}, {"USDC": (25000 + 17 * i) * 10**6}, 1000 + i)
        for i in range(n)
    ]
    for p in out:
        liquidation_inputs(p, market, prices, 10**18)  # StatementFalse if one were healthy
    return out


class Noop:
    """An actor that does nothing: the cost of one actor call."""

    def ping(self, payload: object = None) -> int:
        return 0


def call_overhead(ray: Any, payload: object, calls: int = 300) -> dict[str, float]:
    """ms per actor call: one at a time (round trip) and 8 in flight (what the pool does)."""
    actor = ray.remote(Noop).options(num_cpus=0).remote()
    ray.get(actor.ping.remote(), timeout=60)
    t = time.perf_counter()
    for _ in range(calls):
        ray.get(actor.ping.remote(payload), timeout=60)
    sequential = (time.perf_counter() - t) / calls
    t = time.perf_counter()
    refs: list[Any] = []
    for _ in range(calls):
        refs.append(actor.ping.remote(payload))
        if len(refs) >= 8:
            ray.get(refs.pop(0), timeout=60)
    ray.get(refs, timeout=60)
    pipelined = (time.perf_counter() - t) / calls
    ray.kill(actor)
    return {"round_trip_ms": sequential * 1000, "pipelined_ms": pipelined * 1000}


def compare(
    keys: build.CircuitKeys,
    tc: Toolchain,
    inputs: list[Inputs],
    calc: WitnessCalculator,
    address: str,
    threads: int,
    witness: str,
    rounds: int,
) -> dict[str, Any]:
    """Local pool and Ray pool with `threads` proving threads, rounds interleaved."""
    local_rates, ray_rates, local_cpu, ray_cpu, driver_cpu = [], [], [], [], []
    t = time.perf_counter()
    with ray_prover.RayProverPool(keys, address, threads=threads, witness=witness) as remote:
        start = time.perf_counter() - t
        actors = len(remote.actors())
        with ProverPool(keys, tc, threads) as local:
            remote.prove_many(inputs[: 2 * threads * actors])  # warm: every thread's wasm module
            local.prove_many([calc.calculate(i) for i in inputs[: 2 * threads]])
            for _ in range(rounds):
                r, c = timed(
                    len(inputs), lambda: local.prove_many(calc.calculate(i) for i in inputs), time.process_time
                )
                local_rates.append(r)
                local_cpu.append(c)
                mine = time.process_time()
                r, c = timed(len(inputs), lambda: remote.prove_many(inputs), tree_cpu)
                driver_cpu.append((time.process_time() - mine) / len(inputs) * 1000)
                ray_rates.append(r)
                ray_cpu.append(c)
    return {
        "threads_per_actor": threads,
        "actors": actors,
        "witness": witness,
        "actor_start_s": start,
        "local": summary(local_rates),
        "ray": summary(ray_rates),
        "local_rounds": local_rates,
        "ray_rounds": ray_rates,
        "local_cpu_ms": statistics.median(local_cpu),
        "ray_cpu_ms": statistics.median(ray_cpu),
        "driver_cpu_ms": statistics.median(driver_cpu),
    }


def end_to_end(
    ps: list[Position], market: Market, prices: PriceSnapshot, tc: Toolchain, address: str | None
) -> dict[str, float]:
    """`scan` on a directory of positions, bundles written: positions/s, and the driver's CPU
    per position (this process: with Ray, everything but the proving)."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "positions"
        src.mkdir()
        for k, p in enumerate(ps):
            (src / f"p{k:04d}.json").write_text(json.dumps(position_to_json(p)))
        t, cpu, everything = time.perf_counter(), time.process_time(), tree_cpu()
        report = scan.scan(
            src, market, prices, Path(d) / "bundles", 10**18, Settings(toolchain=tc), workers=2, ray=address
        )
        wall, cpu, everything = time.perf_counter() - t, time.process_time() - cpu, tree_cpu() - everything
        assert report.count("proven") == len(ps)
    row = {"positions_per_s": len(ps) / wall, "wall_s": wall, "driver_cpu_ms_per_position": 1000 * cpu / len(ps)}
    if address is not None:  # the actor's process is new: all of its CPU is in the difference
        row["all_cpu_ms_per_position"] = 1000 * everything / len(ps)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--positions", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/ray_results.json"))
    args = ap.parse_args()
    ray = ray_prover.ray_module()
    from ray.cluster_utils import Cluster

    tc = dataclasses.replace(Toolchain.discover(), prover="c")
    progress = StderrProgress()
    keys = build.build(registry.for_assets("liquidation", 4), tc, progress=progress)
    market = load_market(paths.FIXTURES_DIR / "market.json")
    prices = load_prices(paths.FIXTURES_DIR / "prices.json", market)
    ps = positions(market, prices, args.positions)
    inputs = [liquidation_inputs(p, market, prices, 10**18).inputs for p in ps]
    calc = WitnessCalculator(keys.compiled.wasm)
    witness = calc.calculate(inputs[0])
    t = time.perf_counter()
    for i in inputs[:20]:
        calc.calculate(i)
    out: dict[str, Any] = {
        "circuit": keys.compiled.spec.id,
        "constraints": keys.compiled.n_constraints,
        "positions": len(ps),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "witness_ms_driver": (time.perf_counter() - t) / 20 * 1000,
        "payload_bytes": {"inputs": len(pickle.dumps(inputs[0])), "witness": len(pickle.dumps(witness))},
    }
    runs: list[dict[str, Any]] = []
    with progress.step("local Ray instance, 2 CPUs: 1 and 2 threads, witness on worker and driver"):
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
        try:
            out["actor_call"] = {
                "empty": call_overhead(ray, None),
                "inputs": call_overhead(ray, inputs[0]),
                "witness": call_overhead(ray, witness),
            }
            for threads in (1, 2):
                for place in ("worker", "driver"):
                    runs.append(compare(keys, tc, inputs, calc, "auto", threads, place, args.rounds))
            with progress.step("end-to-end scan, 2 workers: local pool, then Ray"):
                out["scan_local"] = end_to_end(ps, market, prices, tc, None)
                out["scan_ray"] = end_to_end(ps, market, prices, tc, "auto")
        finally:
            ray.shutdown()
    with progress.step("two single-CPU Ray nodes on this machine (two actors)"):
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        try:
            cluster.add_node(num_cpus=1)
            ray.init(address=cluster.address, log_to_driver=False, logging_level="WARNING")
            cluster.wait_for_nodes()
            runs.append(compare(keys, tc, inputs, calc, cluster.address, 1, "worker", args.rounds))
        finally:
            ray.shutdown()
            cluster.shutdown()  # type: ignore[no-untyped-call]
    out["runs"] = runs
    out["loadavg_end"] = os.getloadavg()
    print(
        f"liquidatable positions/s, {len(ps)} positions of {out['circuit']} a round, best (median) of "
        f"{args.rounds} rounds, local pool and Ray rounds interleaved"
    )
    print(
        "(CPU ms = CPU time a position, median round: the local pool's process; with Ray, the driver,\n"
        "GCS, raylet and actors together, and the driver alone)"
    )
    print(
        f"{'actors x threads':>16} {'witness on':>10} {'local pool':>15} {'Ray':>15} {'Ray/local':>9} "
        f"{'CPU ms local':>12} {'Ray':>6} {'driver':>6} {'start s':>7}"
    )
    for r in runs:
        loc, ry = r["local"], r["ray"]
        print(
            f"{r['actors']:>10} x {r['threads_per_actor']:<3} {r['witness']:>10} "
            f"{loc['best']:>6.2f} ({loc['median']:>5.2f}) {ry['best']:>6.2f} ({ry['median']:>5.2f}) "
            f"{ry['best'] / loc['best']:>9.2f} {r['local_cpu_ms']:>12.0f} {r['ray_cpu_ms']:>6.0f} {r['driver_cpu_ms']:>6.1f} "
            f"{r['actor_start_s']:>7.1f}"
        )
    sl, sr = out["scan_local"], out["scan_ray"]
    print(
        f"\nend-to-end scan, 2 workers, bundles written: local {sl['positions_per_s']:.2f}/s "
        f"({sl['driver_cpu_ms_per_position']:.0f} CPU ms a position), Ray {sr['positions_per_s']:.2f}/s (actor start "
        f"included; {sr['all_cpu_ms_per_position']:.0f} CPU ms a position in all, of which the driver "
        f"{sr['driver_cpu_ms_per_position']:.1f})"
    )
    ac = out["actor_call"]
    print(
        f"actor call: empty {ac['empty']['round_trip_ms']:.2f} ms round trip, {ac['empty']['pipelined_ms']:.2f} ms "
        f"pipelined; with the inputs ({out['payload_bytes']['inputs']} B) {ac['inputs']['pipelined_ms']:.2f} ms, "
        f"with the witness ({out['payload_bytes']['witness']} B) {ac['witness']['pipelined_ms']:.2f} ms; "
        f"witness in Python {out['witness_ms_driver']:.1f} ms"
    )
    print(
        f"load average {out['loadavg_start'][0]:.1f} at the start, {out['loadavg_end'][0]:.1f} at the end "
        f"({out['cpus']} CPUs, shared)"
    )
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
