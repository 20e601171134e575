"""PrivateMarginPool benchmark: constraints and proving time per operation, and the gas of each
operation's whole transaction (calldata, the reserves' update and rates, the proof's verification,
the nullifier, the note-tree insert, the token transfer, the events) at depth 20, with the ratio
to the plain liquidation proof's verification gas measured in the same run (as benchmarks/onchain.py
measures it: liquidation_4, one verifyProof transaction).

Gas is measured on pyrevm with the tree's storage preloaded (size, depth, side nodes; the root the
proof was made against kept in the root window), so that the new note lands at a chosen leaf index:
the insert costs one Poseidon(2) per one bit of that index. Cases: `small` (the index the run
really reaches, a few notes), `typical` (an index with 10 one bits of 20, the average at depth 20)
and `worst` (2^20 - 1: 20 hashes).

    .venv/bin/python benchmarks/pool_gas.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_hash.auto import keccak
from pyrevm import EVM, AccountInfo, BlockEnv

from zkmargin import api, build, onchain, registry
from zkmargin.evm import TX_GAS, InProcessChain
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
SLOT_RESERVES, SLOT_LEAVES = 0, 9  # Reserves._reserves; _tree.leaves
RESERVE_SLOTS = 10  # ReserveData's storage slots (checked: the last one, rates, is read)
TARGET = 1_000_000
TRACED = "typical"  # the case whose transactions are traced for the breakdown


def _selector(sig: str) -> bytes:
    return keccak(sig.encode())[:4]


def _slot(key: int, base: int) -> int:
    return int.from_bytes(keccak(encode(["uint256", "uint256"], [key, base])), "big")


@contextmanager
def _captured_stdout() -> Iterator[Path]:
    """pyrevm's tracer prints EIP-3155 lines on fd 1: send them to a file for the block's length."""
    fd, name = tempfile.mkstemp(prefix="pool-gas-trace-")
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(fd, 1)
    try:
        yield Path(name)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(fd)


def breakdown(trace: Path, gas_used: int, calldata: bytes, classify: Callable[[str, int], str]) -> dict[str, int]:
    """One transaction's gas by what spent it, from its EIP-3155 trace: every depth-1 opcode's
    cost goes to `classify(opName, operand)` (the callee of a CALL-family opcode, whose cost is the
    whole frame's; the slot of an SLOAD/SSTORE; else 0), intrinsic gas to "base" and "calldata",
    the refund (the reentrancy guard's reset) to "refund". The parts add up to gas_used (checked)."""
    nonzero = sum(1 for b in calldata if b)
    parts = {"base": 21_000, "calldata": 16 * nonzero + 4 * (len(calldata) - nonzero)}
    pending: tuple[str, int] | None = None  # a call at depth 1 and the gas before it
    first = last = refund = 0
    with trace.open() as f:
        for line in f:
            step = json.loads(line)
            if "pc" not in step:
                continue
            gas, depth = int(step["gas"], 16), step["depth"]
            refund = int(step["refund"], 16)
            if depth != 1:
                continue
            if pending:
                parts[pending[0]] = parts.get(pending[0], 0) + pending[1] - gas
                pending = None
            first = first or gas
            op, stack = step["opName"], step["stack"]
            operand = int(stack[-2 if op.endswith("CALL") else -1], 16) if stack else 0
            what = classify(op, operand)
            if op.endswith("CALL"):
                pending = (what, gas)
            else:
                parts[what] = parts.get(what, 0) + int(step["gasCost"], 16)
            last = gas - int(step["gasCost"], 16)
    trace.unlink()
    parts["refund"] = -min(refund, (gas_used + refund) // 5)
    total = sum(parts.values())
    if total != gas_used:
        raise AssertionError(f"breakdown adds up to {total}, the transaction used {gas_used} ({first - last})")
    return parts


_STORAGE = re.compile(r"(\d+): StorageSlot \{ previous_or_original_value: \d+, present_value: (\d+) \}")
_ACCOUNT = re.compile(r"(0x[0-9a-f]{40}): Account \{")
# a stub for a verifier (verifyProof) or PoseidonT3 (hash): returns the word 1
STUB = bytes.fromhex("600160005260206000f3")


def _address(word: bytes) -> str:
    return "0x" + word[-20:].hex()


def _address_of(a: str) -> str:
    return a.lower()


def _is_contract(info: AccountInfo) -> bool:
    return bool(info.code and info.code.strip(b"\x00"))


def fresh_copy(evm: EVM, timestamp: int, stubbed: Collection[str] = ()) -> EVM:
    """A new EVM holding `evm`'s accounts and storage and nothing warm, the accounts in `stubbed`
    running STUB. pyrevm never finalizes its journal between message_calls: on one EVM every slot
    and account an earlier transaction touched stays warm and keeps its first original value, so
    EIP-2929 cold accesses and EIP-2200 storage costs are undercounted. Every account lives in that
    journal (nothing is ever committed), which its Debug text lists with every storage slot."""
    fresh = EVM(spec_id="CANCUN")
    fresh.set_block_env(BlockEnv(number=1, timestamp=timestamp))
    for address, info in evm.journal_state.items():
        a = address.lower()
        code = STUB if a in stubbed else info.code if _is_contract(info) else None
        fresh.insert_account_info(address, AccountInfo(nonce=info.nonce, code=code))
        fresh.set_balance(address, info.balance)
    text = evm.journal_str
    heads = list(_ACCOUNT.finditer(text))
    for k, head in enumerate(heads):
        segment = text[head.end() : heads[k + 1].start() if k + 1 < len(heads) else len(text)]
        for slot, value in _STORAGE.findall(segment):
            fresh.insert_account_storage(head.group(1), int(slot), int(value))
    return fresh


class Bench:
    def __init__(self, tc: Toolchain, settings: Settings, index: int | None) -> None:
        self.chain = InProcessChain(timestamp=T0)
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
        self.traced = index == CASES[TRACED]  # tracing is slow: one case's breakdown is enough
        self.parts: dict[str, dict[str, int]] = {}
        self.feeds = feeds
        verifiers = ("openVerifier()", "transitionVerifier()", "liquidationVerifier()")
        self.verifiers = {_address(self.pool._call(sig)) for sig in verifiers}
        known = self.verifiers | {_address_of(a) for a in (*tokens, *feeds, self.pool.address)}
        (self.poseidon,) = {a.lower() for a, info in self.chain.evm.journal_state.items() if _is_contract(info)} - known

    def _classifier(self, commitment: int, nullifier: int | None) -> Callable[[str, int], str]:
        tokens = {int(t, 16) for t in self.tokens}
        feeds = {int(f, 16) for f in self.feeds}
        verifiers = {int(v, 16) for v in self.verifiers}
        tree = {SLOT_SIZE, SLOT_DEPTH, SLOT_ROOTS_WRITTEN, *range(SLOT_ROOTS, SLOT_ROOTS + 30)}
        tree |= {_slot(level, SLOT_SIDE_NODES) for level in range(22)} | {_slot(commitment, SLOT_LEAVES)}
        reserves = {_slot(int(t, 16), SLOT_RESERVES) + k for t in self.tokens for k in range(RESERVE_SLOTS)}
        spent = {_slot(nullifier, s) for s in range(64)} if nullifier is not None else set()

        def classify(op: str, operand: int) -> str:
            if op == "DELEGATECALL":
                return "tree insert"  # PoseidonT3, the pool's one linked library
            if op.endswith("CALL"):
                if operand in verifiers:
                    return "verifyProof"
                if operand in tokens:
                    return "token transfer"
                return "price feeds" if operand in feeds else "other calls"
            if op.startswith("LOG"):
                return "events"
            if op in ("SLOAD", "SSTORE"):
                if operand in tree:
                    return "tree insert"
                if operand in reserves:
                    return "reserve state (storage)"
                if operand in spent:
                    return "nullifier"
                return "other storage"
            return "other (checks, inputs, ABI, memory, arithmetic)"

        return classify

    def _run(self, evm: EVM, sender: str, calldata: bytes) -> int:
        evm.message_call(sender, self.pool.address, calldata, gas=TX_GAS)
        assert evm.result is not None and evm.result.is_success
        return int(evm.result.gas_used)

    def _measured(
        self, name: str, sender: str, calldata: bytes, commitment: int, nullifier: int | None, send: Callable[[], Any]
    ) -> Any:
        """The transaction's gas on a fresh copy of the chain's state (fresh_copy: nothing warm),
        then the transaction on the chain itself (the scenario moves on; pyrevm's own gas_used
        would count every slot earlier transactions touched as warm). In the traced case also its
        breakdown: the copy traced with the verifiers and PoseidonT3 replaced by stubs (their
        traces are most of the lines), and the real verifier's and hashes' execution added as the
        difference between the real transaction and one with only that stub."""
        ts = self.chain.timestamp()
        gas = self._run(fresh_copy(self.chain.evm, ts), sender, calldata)
        if self.traced:
            no_verifier = self._run(fresh_copy(self.chain.evm, ts, self.verifiers), sender, calldata)
            no_hash = self._run(fresh_copy(self.chain.evm, ts, {self.poseidon}), sender, calldata)
            stubbed = fresh_copy(self.chain.evm, ts, self.verifiers | {self.poseidon})
            stubbed_any: Any = stubbed  # pyrevm's stub types `tracing` read-only; its setter works
            stubbed_any.tracing = True
            try:
                with _captured_stdout() as trace:
                    stubbed_gas = self._run(stubbed, sender, calldata)
            finally:
                stubbed_any.tracing = False
            parts = breakdown(trace, stubbed_gas, calldata, self._classifier(commitment, nullifier))
            parts["verifyProof"] += gas - no_verifier
            parts["tree insert"] += gas - no_hash
            if sum(parts.values()) != gas:
                raise AssertionError(f"{name}: the parts add up to {sum(parts.values())}, not {gas}")
            self.parts[name] = parts
        rc = send()
        self.gas[name] = gas
        return rc

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
        """The tree as if it held `index` leaves: the next insert lands at leaf `index`."""
        if self.index is None:
            return
        evm, addr = self.chain.evm, self.pool.address
        depth = max(self.index - 1, 0).bit_length() if self.index > 1 else 1
        evm.insert_account_storage(addr, SLOT_SIZE, self.index)
        evm.insert_account_storage(addr, SLOT_DEPTH, depth)
        for level in range(depth + 1):
            slot = int.from_bytes(keccak(encode(["uint256", "uint256"], [level, SLOT_SIDE_NODES])), "big")
            evm.insert_account_storage(addr, slot, 1000 + level)

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
            send = lambda: client.open(self.tokens[asset], bundle)  # noqa: E731
            self._measured(name, address, calldata, note.commitment, None, send)
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
        send = lambda: client.transact(op, self.tokens[asset], bundle, recipient)  # noqa: E731
        self._measured(name, address, calldata, new.commitment, note.nullifier, send)
        self.model.transact(op, note, new, asset, amount, now)
        self.prove_s[name] = seconds
        self._sync_root()
        return new


def run_case(tc: Toolchain, settings: Settings, index: int | None) -> Bench:
    b = Bench(tc, settings, index)
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
    cases = {name: run_case(tc, settings, index) for name, index in CASES.items()}
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
        row["breakdown_typical"] = cases[TRACED].parts[op]
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
