"""The crash scenario (issue #15 item 5) on anvil: N positions of varied health, then WETH falls 30%
in one price update, and keepers (`zkmargin keeper run`, separate processes, warm provers, one
keeper key, one account each, `--share i/N`) clear every failing position.

Measured: the time from the price update's receipt to the last needed liquidation mined (as the
keepers report it; the benchmark waits until every keeper has made a pass with nothing
liquidatable and nothing in flight after it), healthy positions touched (must be 0), liquidations
per position (must be exactly once for the first liquidation of each failing note: the chain's
nullifier set), bad debt covered by the insurance fund and socialized (DeficitCovered events),
token conservation (the pool's balance of each token moves by exactly what the liquidators paid in
and received), per-liquidation proving time and gas.

Setup (not timed): a USDC supplier and N borrowers, each its own wallet sealing every note to the
keeper key; WETH collateral 0.1-1.5 (so some positions are above Aave's 2000 USD close-factor
threshold and are liquidated in halves), debt chosen for an HF after the fall spread over
[0.55, 1.45]. Each position costs two proofs (open, borrow): about 7 s each on two shared cores,
so N = 200 takes about 25 minutes to set up. Then `--warp-days` (30) pass, so that interest has
filled the insurance fund and raised the liquidity index a little (socialization cannot take the
index below 1 ray: on a young pool most of a deficit stays in `reserveDeficit`). Keepers follow with 0 confirmations (anvil mines only
on transactions: with a depth, a successor would wait for blocks that never come).

    .venv/bin/python benchmarks/crash.py [--positions 200] [--keepers 2] [--json OUT] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from eth_abi.abi import decode, encode
from eth_account import Account
from eth_hash.auto import keccak
from readme_block import rewrite_block

from zkmargin import solidity
from zkmargin.evm import ANVIL_DEV_KEY, RpcChain, start_anvil
from zkmargin.pool import deploy
from zkmargin.pool.keeper import best_liquidation
from zkmargin.pool.keys import KeeperKeys, OwnerKeys, write_key_file
from zkmargin.pool.liquidation import LiquidationMarket
from zkmargin.pool.note import Note
from zkmargin.pool.wallet import NULLIFIER_SPENT, Wallet, next_timestamp, read_market
from zkmargin.progress import StderrProgress
from zkmargin.settings import Settings
from zkmargin.toolchain import Toolchain

ROOT = Path(__file__).resolve().parent.parent
E6, E18 = 10**6, 10**18
DEFICIT_COVERED = keccak(b"DeficitCovered(address,uint256,uint256)")
BEEF = "0x000000000000000000000000000000000000bEEF"


class Run:
    def __init__(self, url: str, deployment: deploy.Deployment, file: Path, tmp: Path, tc: Toolchain) -> None:
        self.url, self.deployment, self.file, self.tmp, self.tc = url, deployment, file, tmp, tc
        self.chain = RpcChain(url, ANVIL_DEV_KEY)

    def account(self) -> str:
        acct = Account.create()
        self.chain.request("anvil_setBalance", acct.address, hex(10**22))
        deploy.mint(self.chain, self.deployment, acct.address)
        return "0x" + bytes(acct.key).hex()

    def balance(self, symbol: str, who: str) -> int:
        data = keccak(b"balanceOf(address)")[:4] + encode(["address"], [who])
        return int(decode(["uint256"], self.chain.call(self.deployment.asset(symbol).token, data))[0])

    def wallet(self, name: str, key: str) -> Wallet:
        return Wallet(
            self.tmp / "owners" / name,
            RpcChain(self.url, key),
            self.deployment,
            keys=OwnerKeys.generate(),
            settings=Settings(toolchain=self.tc),
        )

    def reserve_deficit(self, symbol: str) -> int:
        data = keccak(b"reserveDeficit(address)")[:4] + encode(["address"], [self.deployment.asset(symbol).token])
        return int(decode(["uint256"], self.chain.call(self.deployment.pool, data))[0])

    def market(self) -> LiquidationMarket:
        m, states = read_market(self.chain, self.deployment, next_timestamp(self.chain, 0))
        return LiquidationMarket(
            m, tuple(s.risk.liquidation_bonus for s in states), tuple(s.risk.liquidation_protocol_fee for s in states)
        )


def _positions(n: int, rng: random.Random, weth_price: int, dropped: int) -> list[tuple[int, int]]:
    """(WETH supplied, USDC borrowed) per position: HF after the fall spread over [0.55, 1.45], the
    debt capped by the borrowing power before it (LTV 80.5%, with 1% room)."""
    out = []
    for _ in range(n):
        weth = rng.randint(10, 150) * E18 // 100
        hf = rng.uniform(0.55, 1.45)
        debt_usd = weth * dropped * 8300 // 10_000 // E18 / hf  # 8-decimal USD
        cap_usd = weth * weth_price * 8050 // 10_000 // E18 * 0.99
        debt = int(min(debt_usd, cap_usd) / 10**8 * E6)
        out.append((weth, max(debt, E6)))
    return out


def _reader(proc: subprocess.Popen[bytes], sink: list[tuple[float, dict[str, Any]]]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        text = line.decode(errors="replace").strip()
        if text.startswith("{"):
            sink.append((time.monotonic(), json.loads(text)))


def bench(n: int, n_keepers: int, seed: int, warp_days: int, progress: StderrProgress) -> dict[str, Any]:
    tc = Toolchain.discover()
    settings = Settings(toolchain=tc, progress=progress)
    rng = random.Random(seed)
    with TemporaryDirectory(prefix="zkm-crash-") as d, start_anvil(tc) as url:
        tmp = Path(d)
        chain = RpcChain(url, ANVIL_DEV_KEY)
        keeper = KeeperKeys.generate()
        write_key_file(tmp / "keeper.json", keeper)
        with progress.step("deploying the pool (devnet config; notes sealed to the keepers' key)"):
            deployment, _ = deploy.deploy_to_file(
                chain,
                deploy.load_config(),
                lambda: solidity.compile_reference_contracts(tc),
                tmp / "deployment.json",
                settings=settings,
                keeper_key=keeper.public,
            )
        run = Run(url, deployment, tmp / "deployment.json", tmp, tc)
        weth_price = deploy.latest_round(chain, deployment.asset("WETH").feed)[1]
        dropped = weth_price * 7 // 10
        owner = run.account()
        specs = _positions(n, rng, weth_price, dropped)
        weth_faucet = deployment.config.asset("WETH").faucet
        for _ in range(sum(weth for weth, _ in specs) // weth_faucet):  # run.account() minted one faucet
            deploy.mint(chain, deployment, Account.from_key(owner).address)
        need_usdc = sum(debt for _, debt in specs) * 2 + 10_000 * E6
        with progress.step(f"supplying {need_usdc // E6} USDC"):
            supplier = run.account()
            for _ in range(need_usdc // (1_000_000 * E6)):
                deploy.mint(chain, deployment, Account.from_key(supplier).address)
            with run.wallet("supplier", supplier) as w:
                w.operate("deposit", "USDC", need_usdc)
        notes: list[Note] = []
        started = time.monotonic()
        for i, (weth, debt) in enumerate(specs):
            with progress.step(f"position {i + 1}/{n}: {weth / E18:.2f} WETH, borrow {debt / E6:.2f} USDC"):
                with run.wallet(f"p{i}", owner) as w:
                    w.operate("deposit", "WETH", weth)
                    w.operate("borrow", "USDC", debt, recipient=BEEF)
                    ((_, note),) = w.live_notes()
                    notes.append(note)
        setup_s = time.monotonic() - started
        if warp_days:
            with progress.step(f"{warp_days} days pass (interest accrues: the insurance fund and the index grow)"):
                chain.request("evm_increaseTime", warp_days * 86_400)
                chain.request("evm_mine")
                deploy.refresh_prices(chain, deployment)
        residual_before = {s: run.reserve_deficit(s) for s in ("WETH", "USDC")}
        liquidators = [run.account() for _ in range(n_keepers)]
        addresses = [Account.from_key(k).address for k in liquidators]
        watched = [deployment.pool, *addresses]
        before = {(s, a): run.balance(s, a) for s in ("WETH", "USDC") for a in watched}
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs, sinks = [], []
        for i, key in enumerate(liquidators):
            argv = [sys.executable, "-m", "zkmargin.cli.main", "keeper", "run", "--rpc-url", url]
            argv += ["--deployment", str(run.file), "--private-key", key, "--keeper-key", str(tmp / "keeper.json")]
            argv += ["--db", str(tmp / f"keeper-{i}.sqlite"), "--confirmations", "0", "--poll", "0.2", "--json", "-q"]
            argv += ["--share", f"{i}/{n_keepers}"]
            p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            sink: list[tuple[float, dict[str, Any]]] = []
            threading.Thread(target=_reader, args=(p, sink), daemon=True).start()
            procs.append(p)
            sinks.append(sink)
        try:
            with progress.step(f"{n_keepers} keeper(s) syncing and warming their provers"):
                deadline = time.monotonic() + 600
                while not all(any(e["event"] == "pass" for _, e in s) for s in sinks):
                    if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                        raise RuntimeError("a keeper did not start")
                    time.sleep(0.2)
            drop_block = int(chain.request("eth_blockNumber"), 16) + 1
            deploy.set_price(chain, deployment, "WETH", dropped)
            t0 = time.monotonic()
            market = run.market()
            failing = {nt.commitment for nt in notes if best_liquidation(nt, market) is not None}
            with progress.step(f"WETH -30%: {len(failing)} of {n} positions failing; keepers clearing"):
                deadline = time.monotonic() + 3600
                while True:
                    time.sleep(0.5)
                    if any(p.poll() is not None for p in procs):
                        raise RuntimeError("a keeper exited")
                    stamped = [(t, e) for s in sinks for t, e in list(s)]
                    mined = [(t, e) for t, e in stamped if e["event"] == "liquidation"]
                    last = max((t for t, _ in mined), default=t0)
                    done = {int(e["note"]) for _, e in mined}
                    quiet = all(
                        any(
                            t > last and e["event"] == "pass" and not e["liquidatable"] and not e["inFlight"]
                            for t, e in s
                        )
                        for s in sinks
                    )
                    if failing <= done and quiet:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("the keepers did not clear the crash within an hour")
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=60)
        events = [e for s in sinks for _, e in s]
        liqs = [e for e in events if e["event"] == "liquidation"]
        spent_logs = chain.request(
            "eth_getLogs",
            {
                "address": deployment.pool,
                "fromBlock": hex(drop_block),
                "toBlock": "latest",
                "topics": ["0x" + NULLIFIER_SPENT.hex()],
            },
        )
        spent = [int(g["topics"][1], 16) for g in spent_logs]
        healthy_touched = sum(1 for nt in notes if nt.commitment not in failing and nt.nullifier in spent)
        first_liquidations = [nt for nt in notes if nt.commitment in failing]
        once = all(spent.count(nt.nullifier) == 1 for nt in first_liquidations)
        insured = [0, 0]
        socialized = [0, 0]
        tokens = [a.token.lower() for a in deployment.assets]
        for e in liqs:
            receipt = chain.request("eth_getTransactionReceipt", e["txHash"])
            for g in receipt["logs"]:
                if bytes.fromhex(g["topics"][0][2:]) == DEFICIT_COVERED:
                    i = tokens.index("0x" + g["topics"][1][-40:].lower())
                    a, b = decode(["uint256", "uint256"], bytes.fromhex(g["data"][2:]))
                    insured[i] += int(a)
                    socialized[i] += int(b)
        booked = [0, 0]
        for e in liqs:
            for i, x in enumerate(e["deficit"]):
                booked[i] += int(x)
        residual = [run.reserve_deficit(s) - residual_before[s] for s in ("WETH", "USDC")]
        conserved = {}
        for s in ("WETH", "USDC"):
            paid = sum(int(e["debtRepaid"]) for e in liqs if e["debtAsset"] == s)
            got = sum(int(e["collateralToLiquidator"]) for e in liqs if e["collateralAsset"] == s)
            pool_delta = run.balance(s, deployment.pool) - before[s, deployment.pool]
            keepers_delta = sum(run.balance(s, a) - before[s, a] for a in addresses)
            conserved[s] = pool_delta == paid - got and keepers_delta == got - paid and pool_delta + keepers_delta == 0
        proving = [float(e["provingSeconds"]) for e in liqs]
        gas = [int(e["gasUsed"]) for e in liqs]
        last_t = max((t for s in sinks for t, e in s if e["event"] == "liquidation"), default=t0)
        per_keeper = [sum(1 for _, e in s if e["event"] == "liquidation") for s in sinks]
        lost = [e for e in events if e["event"] == "lost"]
        wasted = sum(1 for e in lost if "at head" not in str(e.get("reason")))
        return {
            "positions": n,
            "keepers": n_keepers,
            "warpDays": warp_days,
            "seed": seed,
            "setupSeconds": round(setup_s, 1),
            "failing": len(failing),
            "liquidations": len(liqs),
            "liquidationsPerKeeper": per_keeper,
            "lostRaces": len(lost),  # notes found spent by the other keeper
            "lostAfterProving": wasted,  # of which a proof was wasted (spent while proving)
            "secondLiquidations": len(liqs) - len(failing & {int(e["note"]) for e in liqs}),
            "timeToClearSeconds": round(last_t - t0, 2),
            "healthyTouched": healthy_touched,
            "eachFailingNoteLiquidatedOnce": once,
            "badDebt": {
                s: {
                    "deficit": str(booked[i]),
                    "fromInsurance": str(insured[i]),
                    "socialized": str(socialized[i]),
                    "leftInReserveDeficit": str(residual[i]),
                    "accountedFor": booked[i] == insured[i] + socialized[i] + residual[i],
                }
                for i, s in enumerate(("WETH", "USDC"))
            },
            "tokensConserved": conserved,
            "provingSeconds": {
                "median": round(statistics.median(proving), 3) if proving else None,
                "mean": round(statistics.fmean(proving), 3) if proving else None,
                "max": round(max(proving), 3) if proving else None,
            },
            "gas": {
                "median": int(statistics.median(gas)) if gas else None,
                "min": min(gas, default=None),
                "max": max(gas, default=None),
            },
            "cpus": os.cpu_count(),
            "load": os.getloadavg()[0],
        }


BEGIN, END = "<!-- benchmarks/crash.py --readme: begin -->", "<!-- benchmarks/crash.py --readme: end -->"


def _units(wei: int, decimals: int) -> str:
    return f"{wei / 10**decimals:,.2f}"


def report(c: dict[str, Any]) -> str:
    """README.md's crash table, from the benchmark's JSON (nothing typed by hand)."""
    per = " + ".join(str(n) for n in c["liquidationsPerKeeper"])
    usdc = c["badDebt"]["USDC"]
    g, p = c["gas"], c["provingSeconds"]
    per_liq = c["timeToClearSeconds"] / c["liquidations"] if c["liquidations"] else 0.0
    conserved = all(c["tokensConserved"].values())
    rows = [
        (
            "run",
            f"N = {c['positions']}, seed {c['seed']}, {c['warpDays']} days of interest first, {c['keepers']} keeper "
            f"processes (`--share I/{c['keepers']}`), 0 confirmations on anvil, {c['cpus']} shared cores at a "
            f"load of {c['load']:.1f}; setup {c['setupSeconds']:.0f} s",
        ),
        ("positions failing after the fall", f"{c['failing']} of {c['positions']}"),
        (
            "liquidations (each failing note once; healthy notes touched)",
            f"{c['liquidations']} ({per} by the keepers), each failing note once: "
            f"{'yes' if c['eachFailingNoteLiquidatedOnce'] else 'NO'}; {c['healthyTouched']}",
        ),
        (
            "time from the price update's receipt to the last liquidation mined",
            f"{c['timeToClearSeconds']:.1f} s ({per_liq:.2f} s a liquidation)",
        ),
        (
            "races lost (a note found spent by the other keeper)",
            f"{c['lostRaces']} before proving (no cost), {c['lostAfterProving']} after a wasted proof",
        ),
        ("proving, per liquidation (witness + warm prove)", f"median {p['median']:.2f} s, max {p['max']:.2f} s"),
        (
            "gas, per liquidation (whole transaction, anvil receipts)",
            f"median {g['median']:,} ({g['min']:,}-{g['max']:,})",
        ),
        (
            "USDC deficit written off",
            f"{_units(int(usdc['deficit']), 6)} USDC: {_units(int(usdc['fromInsurance']), 6)} from the insurance "
            f"fund, {_units(int(usdc['socialized']), 6)} socialized, {_units(int(usdc['leftInReserveDeficit']), 6)} "
            "left in `reserveDeficit` (the 1-ray floor)",
        ),
        (
            "tokens",
            "conserved: the pool's balance moved by exactly what the liquidators paid and received"
            if conserved
            else "NOT conserved",
        ),
    ]
    return "| | |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--positions", type=int, default=200, help="borrowing positions (default 200, as issue #15)")
    ap.add_argument("--keepers", type=int, default=2, help="keeper processes (default 2)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--warp-days", type=int, default=30, help="days of interest before the fall (default 30)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument(
        "--readme", action="store_true", help="rewrite README.md's crash table from --json, measuring nothing"
    )
    args = ap.parse_args()
    if args.readme:
        if args.json is None:
            ap.error("--readme needs --json FILE (the figures to show)")
        rewrite_block(Path("README.md"), BEGIN, END, report(json.loads(args.json.read_text())["crash"]))
        return
    if args.positions < 1 or args.keepers < 1:
        ap.error("--positions and --keepers must be >= 1")
    out = bench(args.positions, args.keepers, args.seed, args.warp_days, StderrProgress())
    text = json.dumps({"crash": out}, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
