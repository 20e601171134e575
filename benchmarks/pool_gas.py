"""PrivateMarginPool benchmark: constraints and proving time per operation, and the gas of each
operation's whole transaction (calldata, the reserves' update and rates, the proof's verification,
the nullifier, the note-tree insert, the token transfer, the events) at depth 20, with the ratio
to the plain liquidation proof's verification gas measured in the same run (as benchmarks/onchain.py
measures it: liquidation_4, one verifyProof transaction).

The scenario runs on pyrevm with the tree's storage preloaded (size, depth, side nodes, a full
root window; the root the proof was made against kept in it), so that the new note lands at a
chosen leaf index: the insert costs one Poseidon(2) per one bit of that index. Each measured
transaction is replayed on anvil from pyrevm's state (AnvilReplay: pyrevm keeps every slot an
earlier transaction touched warm), which gives its gas and, from callTracer, its breakdown. Cases:
`small` (the index the run really reaches, a few notes), `typical` (an index with 10 one bits of
20, the average at depth 20), `worst` (2^20 - 1: 20 hashes) and `one_bit` (2^19: depth 20, one
hash), from which the gas of one more hash and the share of leaf indexes over 1M follow.

    .venv/bin/python benchmarks/pool_gas.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_hash.auto import keccak
from pyrevm import EVM, AccountInfo

from zkmargin import api, build, onchain, registry
from zkmargin.evm import TX_GAS, InProcessChain, RpcChain, start_anvil
from zkmargin.model import Asset, Market, Position, PricePoint, PriceSnapshot
from zkmargin.pool import babyjub
from zkmargin.pool.contract import DevAsset, Listing, PoolClient, deploy, deploy_dev_assets
from zkmargin.pool.deploy import DEV_KEEPER
from zkmargin.pool.model import PoolModel
from zkmargin.pool.note import Note, new_secret, owner_tag
from zkmargin.pool.reserve import InterestRateData, ReserveState, RiskParameters
from zkmargin.pool.transition import Op
from zkmargin.progress import StderrProgress
from zkmargin.settings import Settings
from zkmargin.statements import lending
from zkmargin.statements import pool as pool_statements
from zkmargin.toolchain import Toolchain

E6, E18 = 10**6, 10**18
T0 = 1_800_000_000
ZERO = "0x" + "00" * 20
ASSETS = (DevAsset("Wrapped Ether", "WETH", 18, 2_000 * 10**8), DevAsset("USD Coin", "USDC", 6, 10**8))
RISK = (
    RiskParameters(8000, 8250, 10500, 1000, 1500),
    RiskParameters(7500, 7800, 10450, 1000, 1000),
)
RATES = (InterestRateData(8000, 0, 400, 8000), InterestRateData(9000, 0, 550, 3500))

# PrivateMarginPool's storage (Reserves, PriceOracle, NoteTree in C3 order; checked at run time):
# _tree.size, _tree.depth, _tree.sideNodes, _roots[30], _rootsWritten (one slot later since
# Reserves.reserveDeficit took slot 5)
SLOT_SIZE, SLOT_DEPTH, SLOT_SIDE_NODES, SLOT_ROOTS, SLOT_ROOTS_WRITTEN = 6, 7, 8, 10, 40
CASES = {"small": None, "typical": 0b1010_1010_1010_1010_1010, "worst": 2**20 - 1, "one_bit": 2**19}
TARGET = 1_000_000


def _selector(sig: str) -> bytes:
    return keccak(sig.encode())[:4]


_STORAGE = re.compile(r"(\d+): StorageSlot \{ previous_or_original_value: \d+, present_value: (\d+) \}")
_ACCOUNT = re.compile(r"(0x[0-9a-f]{40}): Account \{")


def _is_contract(info: AccountInfo) -> bool:
    return bool(info.code and info.code.strip(b"\x00"))


def _word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


class AnvilReplay:
    """Measures one transaction on anvil, from the pyrevm chain's state copied over: pyrevm never
    finalizes its journal between message_calls, so on its own EVM every slot and account an earlier
    transaction touched stays warm (and keeps its first original value), which undercounts EIP-2929
    cold accesses and EIP-2200 storage costs by tens of thousands of gas. anvil starts each
    transaction cold. Every account lives in pyrevm's journal (nothing is ever committed), whose
    Debug text lists each with all its storage."""

    def __init__(self, url: str) -> None:
        self.node = RpcChain(url)

    def _load(self, evm: EVM) -> None:
        self.node.request("anvil_reset")
        env: Any = evm.env  # pyrevm's stub mistypes Env.cfg
        self.node.request("anvil_setChainId", env.cfg.chain_id)  # the proofs bind the chain id
        for address, info in evm.journal_state.items():
            if _is_contract(info):
                self.node.request("anvil_setCode", address, "0x" + (info.code or b"").hex())
            self.node.request("anvil_setBalance", address, hex(max(info.balance, 10**24)))
        text = evm.journal_str
        heads = list(_ACCOUNT.finditer(text))
        for k, head in enumerate(heads):
            segment = text[head.end() : heads[k + 1].start() if k + 1 < len(heads) else len(text)]
            for slot, value in _STORAGE.findall(segment):
                self.node.request("anvil_setStorageAt", head.group(1), _word(int(slot)), _word(int(value)))

    def measure(self, evm: EVM, timestamp: int, sender: str, to: str, calldata: bytes) -> tuple[int, dict[str, Any]]:
        """(gas used, callTracer's frame tree) of `calldata` sent by `sender` to `to` at `timestamp`."""
        self._load(evm)
        self.node.request("evm_setNextBlockTimestamp", hex(timestamp))
        self.node.request("anvil_impersonateAccount", sender)
        tx = {"from": sender, "to": to, "data": "0x" + calldata.hex(), "gas": hex(TX_GAS)}
        tx_hash = self.node.request("eth_sendTransaction", tx)
        receipt = self.node.request("eth_getTransactionReceipt", tx_hash)
        if receipt is None:  # anvil_reset can leave automining off
            self.node.request("evm_mine")
            receipt = self.node.request("eth_getTransactionReceipt", tx_hash)
        if int(receipt["status"], 16) != 1:
            raise AssertionError(f"the replayed transaction reverted: {receipt}")
        frames = self.node.request("debug_traceTransaction", tx_hash, {"tracer": "callTracer"})
        frames["receiptLogs"] = receipt["logs"]
        return int(receipt["gasUsed"], 16), frames


def breakdown(gas: int, calldata: bytes, frames: dict[str, Any], label: Callable[[str, str], str]) -> dict[str, int]:
    """One transaction's gas by what spent it: intrinsic (base, calldata: 16 per nonzero byte, 4
    per zero byte), each call the pool makes (callTracer's gasUsed of the callee's frame, by
    `label(call type, callee)`), the logs (375 + 375 per topic + 8 per data byte each), and the
    rest: the pool's own execution (reserve updates, tree and nullifier storage, input assembly,
    checks, memory, call and access overhead)."""
    nonzero = sum(1 for b in calldata if b)
    parts = {"base": 21_000, "calldata": 16 * nonzero + 4 * (len(calldata) - nonzero)}
    for call in frames.get("calls", []):
        what = label(call["type"], call["to"].lower())
        parts[what] = parts.get(what, 0) + int(call["gasUsed"], 16)
    parts["events"] = sum(
        375 + 375 * len(lg["topics"]) + 8 * (len(lg["data"]) - 2) // 2 for lg in frames["receiptLogs"]
    )
    parts["the pool's own execution"] = gas - sum(parts.values())
    return parts


class Bench:
    def __init__(self, tc: Toolchain, settings: Settings, index: int | None, replay: AnvilReplay) -> None:
        self.chain = InProcessChain(timestamp=T0)
        self.replay = replay
        self.settings, self.index = settings, index
        tokens, feeds = deploy_dev_assets(self.chain, ASSETS, T0, settings)
        listings = [Listing(tokens[i], RISK[i], RATES[i], feeds[i], 2**31) for i in range(2)]
        self.pool: PoolClient = deploy(
            self.chain, listings, "0x" + "7e" * 20, settings=settings, keeper_key=DEV_KEEPER.public
        )
        self.tokens = tokens
        self.model = PoolModel.listed(
            [ReserveState.listed(ASSETS[i].decimals, RISK[i], RATES[i], T0) for i in range(2)],
            [a.price for a in ASSETS],
        )
        self.gas: dict[str, int] = {}
        self.prove_s: dict[str, float] = {}
        self.parts: dict[str, dict[str, int]] = {}
        verifiers = ("openVerifier()", "transitionVerifier()", "liquidationVerifier()")
        self.verifiers = {"0x" + self.pool._call(sig)[-20:].hex() for sig in verifiers}
        self.tokens_lower = {t.lower() for t in tokens}
        self.feeds_lower = {f.lower() for f in feeds}

    def _label(self, kind: str, to: str) -> str:
        if kind == "DELEGATECALL":
            return "Poseidon(2) hashes"  # PoseidonT3, the pool's one linked library
        if to in self.verifiers:
            return "verifyProof"
        if to in self.tokens_lower:
            return "token transfer"
        return "price feeds" if to in self.feeds_lower else "other calls"

    def _measured(self, name: str, sender: str, calldata: bytes, send: Callable[[], Any]) -> None:
        """The transaction's gas and breakdown replayed on anvil from this chain's state
        (AnvilReplay), then the transaction on this chain (the scenario moves on)."""
        gas, frames = self.replay.measure(self.chain.evm, self.chain.timestamp(), sender, self.pool.address, calldata)
        self.gas[name] = gas
        self.parts[name] = breakdown(gas, calldata, frames, self._label)
        send()

    def owner(self, seed: int) -> tuple[str, PoolClient, int]:
        address = "0x" + f"{seed:02x}" * 20
        view = self.chain.as_sender(address)
        for t in self.tokens:
            for sig, args in (
                ("mint(address,uint256)", [address, 10**30]),
                ("approve(address,uint256)", [self.pool.address, 2**256 - 1]),
            ):
                view.transact(t, _selector(sig) + encode(["address", "uint256"], args))
        return address, self.pool.as_chain(view), new_secret()

    def _preload(self) -> None:
        """The tree as if it held `index` leaves: the next insert lands at leaf `index`. The root
        window is full too (a ring slot is overwritten, not set from zero, as in a pool that has
        recorded 30 roots)."""
        if self.index is None:
            return
        evm, addr = self.chain.evm, self.pool.address
        depth = max(self.index - 1, 0).bit_length() if self.index > 1 else 1
        evm.insert_account_storage(addr, SLOT_SIZE, self.index)
        evm.insert_account_storage(addr, SLOT_DEPTH, depth)
        for level in range(depth + 1):
            slot = int.from_bytes(keccak(encode(["uint256", "uint256"], [level, SLOT_SIDE_NODES])), "big")
            evm.insert_account_storage(addr, slot, 1000 + level)
        for k in range(30):
            if evm.storage(addr, SLOT_ROOTS + k) == 0:
                evm.insert_account_storage(addr, SLOT_ROOTS + k, 2000 + k)  # never a real root

    def _sync_root(self) -> None:
        """After a preloaded insert, the newest root in the window becomes the model tree's, so the
        next proof (made against the model's tree) is against a known root, read first."""
        if self.index is None:
            return
        evm, addr = self.chain.evm, self.pool.address
        written = evm.storage(addr, SLOT_ROOTS_WRITTEN)
        evm.insert_account_storage(addr, SLOT_ROOTS + (written - 1) % 30, self.model.tree.root)

    def check_layout(self) -> None:
        evm, addr = self.chain.evm, self.pool.address
        n = self.model.tree.size
        assert evm.storage(addr, SLOT_SIZE) == n and evm.storage(addr, SLOT_ROOTS_WRITTEN) == n, "storage layout"
        assert evm.storage(addr, SLOT_ROOTS + (n - 1) % 30) == self.model.tree.root, "storage layout"

    def open(self, who: tuple[str, PoolClient, int], asset: int, amount: int, name: str | None) -> Note:
        address, client, sk = who
        b = self.pool.binding(address, ZERO)  # the pool's own bindingOf: chain id, pool, sender, recipient
        t0 = time.perf_counter()
        bundle, note = pool_statements.prove_open(
            self.model.market(self.chain.timestamp()),
            asset,
            amount,
            owner_tag(sk),
            b,
            viewing_key=babyjub.public_key(sk % (babyjub.L - 1) + 1),
            keepers=[DEV_KEEPER.public],
            settings=self.settings,
        )
        seconds = time.perf_counter() - t0
        if name:
            self._preload()
            calldata = client.open_calldata(self.tokens[asset], bundle)
            self._measured(name, address, calldata, lambda: client.open(self.tokens[asset], bundle))
        else:
            client.open(self.tokens[asset], bundle)
        self.model.open(asset, amount, note, self.chain.timestamp())
        if name:
            self.prove_s[name] = seconds
            self._sync_root()
        return note

    def op(self, who: tuple[str, PoolClient, int], note: Note, op: Op, asset: int, amount: int) -> Note:
        address, client, sk = who
        recipient = None if op in (Op.DEPOSIT, Op.REPAY) else "0x" + "c1" * 20
        b = self.pool.binding(address, recipient or ZERO)
        now = self.chain.timestamp()
        t0 = time.perf_counter()
        bundle, new = pool_statements.prove_transition(
            note,
            sk,
            self.model.tree.proof(note.commitment),
            op,
            asset,
            amount,
            self.model.market(now),
            b,
            keepers=[DEV_KEEPER.public],
            settings=self.settings,
        )
        seconds = time.perf_counter() - t0
        self._preload()
        name = op.name.lower()
        calldata = client.transition_calldata(op, self.tokens[asset], bundle, recipient)
        self._measured(name, address, calldata, lambda: client.transact(op, self.tokens[asset], bundle, recipient))
        self.model.transact(op, note, new, asset, amount, now)
        self.prove_s[name] = seconds
        self._sync_root()
        return new


def run_case(tc: Toolchain, settings: Settings, index: int | None, replay: AnvilReplay) -> Bench:
    b = Bench(tc, settings, index, replay)
    alice, bob, carol = b.owner(0xA1), b.owner(0xB0), b.owner(0xCA)
    b.open(bob, 1, 1_000_000 * E6, None)
    note = b.open(alice, 0, 100 * E18, None)
    b.check_layout()
    b.chain.set_timestamp(T0 + 3_600)
    b.open(carol, 0, 5 * E18, "open")
    note = b.op(alice, note, Op.DEPOSIT, 0, 10 * E18)
    note = b.op(alice, note, Op.BORROW, 1, 50_000 * E6)
    b.chain.set_timestamp(T0 + 30 * 86_400)
    note = b.op(alice, note, Op.REPAY, 1, 20_000 * E6)
    b.op(alice, note, Op.WITHDRAW, 0, 20 * E18)
    return b


def liquidation_verify_gas(tc: Toolchain, settings: Settings) -> tuple[str, int]:
    """benchmarks/onchain.py's liquidation_4 proof, one verifyProof transaction on pyrevm."""
    assets = tuple(Asset(f"T{i}", 18, 8000, 10500) for i in range(4))
    market = Market("bench4", assets)
    prices = PriceSnapshot({a.symbol: PricePoint(10**8, 1, 1) for a in assets})
    position = Position({"T0": 10**18}, {"T3": 9 * 10**17}, 42)
    bundle = lending.prove_liquidation(position, market, prices, settings=settings)
    chain = InProcessChain()
    return bundle.circuit, onchain.measure_gas(chain, api.deploy_verifier(chain, bundle.vkey, settings), bundle).total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    tc = Toolchain.discover()
    settings = Settings(toolchain=tc, progress=StderrProgress())
    constraints = {
        cid: build.build(registry.get(cid), tc).compiled.meta["constraints"]
        for cid in ("pool_open_2", "pool_transition_2")
    }
    liq_circuit, liq_gas = liquidation_verify_gas(tc, settings)
    with start_anvil(tc) as url:
        replay = AnvilReplay(url)
        cases = {name: run_case(tc, settings, index, replay) for name, index in CASES.items()}
    ops = ("open", "deposit", "borrow", "repay", "withdraw")
    rows: list[dict[str, Any]] = []
    for op in ops:
        circuit = "pool_open_2" if op == "open" else "pool_transition_2"
        row: dict[str, Any] = {
            "operation": op,
            "circuit": circuit,
            "constraints": constraints[circuit],
            "prove_s_median": round(statistics.median(c.prove_s[op] for c in cases.values()), 2),
        }
        for name, c in cases.items():
            row[f"gas_{name}"] = c.gas[op]
        row["leaf_index_small"] = cases["small"].model.tree.size - 1  # informative: the last index reached
        row["ratio_worst_to_liquidation_verify"] = round(row["gas_worst"] / liq_gas, 2)
        row["under_1M_worst"] = row["gas_worst"] < TARGET
        row.update(over_target(row["gas_one_bit"], row["gas_worst"]))
        row["breakdown_typical"] = cases["typical"].parts[op]
        rows.append(row)
    out = {
        "liquidation_verify": {"circuit": liq_circuit, "gas": liq_gas},
        "cases": {k: v for k, v in CASES.items()},
        "operations": rows,
    }
    print(f"plain liquidation proof ({liq_circuit}) verifyProof transaction: {liq_gas} gas")
    print(f"{'op':9} {'constraints':>11} {'prove s':>8} {'gas small':>10} {'typical':>9} {'worst':>9} {'worst/liq':>9}")
    for r in rows:
        print(
            f"{r['operation']:9} {r['constraints']:>11} {r['prove_s_median']:>8} {r['gas_small']:>10} "
            f"{r['gas_typical']:>9} {r['gas_worst']:>9} {r['ratio_worst_to_liquidation_verify']:>9}"
        )
    per_bit = ", ".join(f"{r['operation']} {r['gas_per_one_bit']}" for r in rows)
    print(f"per one bit of the leaf index (depth 20): {per_bit}")
    for r in rows:
        print(
            f"{r['operation']:9} over {TARGET} from {r['min_one_bits_over']} one bits: "
            f"{r['indexes_over']} of 2^20 leaf indexes ({r['fraction_over']:.2%})"
        )
    names = sorted({k for r in rows for k in r["breakdown_typical"]}, key=lambda k: -rows[1]["breakdown_typical"][k])
    print("typical case, gas by part: " + " | ".join(r["operation"] for r in rows))
    for k in names:
        print(f"  {k:50} " + " ".join(f"{r['breakdown_typical'].get(k, 0):>9}" for r in rows))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


def over_target(gas_one_bit: int, gas_worst: int) -> dict[str, Any]:
    """From the cases at depth 20 with 1 and 20 one bits: the gas of one more Poseidon(2) (the
    insert hashes once per one bit, and stores a side node per zero bit), the fewest one bits that
    put the operation over TARGET, and how many leaf indexes in [0, 2^20) have that many or more
    (an upper bound below 2^19, where the tree is shallower and the insert runs fewer levels)."""
    per_bit = (gas_worst - gas_one_bit) / 19
    need = next((k for k in range(1, 21) if gas_one_bit + (k - 1) * per_bit > TARGET), None)
    count = 0 if need is None else sum(math.comb(20, k) for k in range(need, 21))
    return {
        "gas_per_one_bit": round(per_bit),
        "min_one_bits_over": need,
        "indexes_over": count,
        "fraction_over": count / 2**20,
    }


if __name__ == "__main__":
    main()
