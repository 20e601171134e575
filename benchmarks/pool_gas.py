"""PrivateMarginPool benchmark: constraints and proving time per operation, and the gas of each
operation's whole transaction (calldata, the reserves' update and rates, the proof's verification,
the nullifier, the note's append to the tree, the token transfer, the events) at depth 20, with the
ratio to the plain liquidation proof's verification gas measured in the same run (as
benchmarks/onchain.py measures it: liquidation_4, one verifyProof transaction).

Each owner proof also computes the append of its new note to the tree it was made against
(NoteInsertion); when that tree is still the pool's, the pool stores the proven root and one side
node and hashes nothing ("proven"), otherwise it inserts the note on-chain, popcount(leaf index)
Poseidon(2) hashes ("stale": a proof made before another note landed).

The scenario runs on pyrevm with the tree's storage preloaded (size, depth, side nodes, a full
root window) so that the new note lands at a chosen leaf index. A tree of 2^20 leaves cannot be
built in Python, so each depth-20 proof is made against a synthetic one: a frontier of `index`
leaves (random complete-subtree roots) whose root the storage holds as the current root, the spent
note the leftmost leaf of its largest complete subtree (random siblings), so that its membership
proof and the append share the frontier's root as the circuit requires. The stale cases make the
proof against a frontier of index - 1 leaves kept in the root window (membership still passes)
while the pool holds another tree of `index` leaves: the note lands at `index` through the
on-chain insert. Each measured transaction is replayed on anvil from pyrevm's state
(AnvilReplay: pyrevm keeps every slot an earlier transaction touched warm), which gives its gas
and, from callTracer, its breakdown. Cases: `small` (the index the run really reaches, a few
notes, the real tree), `typical` (an index with 10 one bits of 20, the average at depth 20),
`worst` (2^20 - 1) and `one_bit` (2^19), each proven and stale; from the stale one-bit and worst
cases follow the gas of one more on-chain hash and the share of leaf indexes over 1M on that path.

    .venv/bin/python benchmarks/pool_gas.py [--json OUT]
    .venv/bin/python benchmarks/pool_gas.py --readme --json benchmarks/pool_gas.json  (README tables)
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_hash.auto import keccak
from pyrevm import EVM, AccountInfo
from readme_block import rewrite_block

from zkmargin import api, build, onchain, registry
from zkmargin.evm import TX_GAS, InProcessChain, RpcChain, start_anvil
from zkmargin.field import R
from zkmargin.model import Asset, Market, Position, PricePoint, PriceSnapshot
from zkmargin.pool import babyjub
from zkmargin.pool.contract import (
    DevAsset,
    Listing,
    PoolClient,
    deploy,
    deploy_dev_assets,
    open_calldata,
    transition_calldata,
)
from zkmargin.pool.deploy import DEV_KEEPER
from zkmargin.pool.model import PoolModel
from zkmargin.pool.note import Note, new_secret, owner_tag
from zkmargin.pool.reserve import InterestRateData, ReserveState, RiskParameters
from zkmargin.pool.transition import Op
from zkmargin.pool.tree import MAX_DEPTH, Frontier, MerkleProof, fold, hash_pair
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
ROOT_HISTORY = 30
CASES = {"small": None, "typical": 0b1010_1010_1010_1010_1010, "worst": 2**20 - 1, "one_bit": 2**19}
STALE = ("typical", "worst", "one_bit")  # the depth-20 cases also measured on the stale path
OPS = ("open", "deposit", "borrow", "repay", "withdraw")
TARGET = 1_000_000


def _selector(sig: str) -> bytes:
    return keccak(sig.encode())[:4]


_STORAGE = re.compile(r"(\d+): StorageSlot \{ previous_or_original_value: \d+, present_value: (\d+) \}")
_ACCOUNT = re.compile(r"(0x[0-9a-f]{40}): Account \{")


def _is_contract(info: AccountInfo) -> bool:
    return bool(info.code and info.code.strip(b"\x00"))


def _word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def synthetic_tree(size: int, leaf: int | None, rng: random.Random) -> tuple[Frontier, MerkleProof | None]:
    """A tree of `size` leaves as a proof needs it, without its leaves: a Frontier whose entries are
    random field elements but for the complete subtree at the highest one bit h of size, whose
    leftmost leaf is `leaf` (random siblings s_0..s_{h-1} on the right, all index bits 0), and, when
    `leaf` is given, its membership proof under the frontier's root: those siblings, then the fold
    of the lower entries on the right (the frontier's root is H(F_h, fold of the lower ones))."""
    h = size.bit_length() - 1

    def rand() -> int:
        return rng.randrange(1, R)

    siblings = [rand() for _ in range(h)]
    node = rand() if leaf is None else leaf
    for sib in siblings:
        node = hash_pair(node, sib)
    nodes = [rand() if (size >> level) & 1 else 0 for level in range(MAX_DEPTH)]
    nodes[h] = node
    frontier = Frontier(fold(size, nodes), size, tuple(nodes))
    if leaf is None:
        return frontier, None
    rest = size - 2**h  # the lower one bits: their fold is the path's last sibling
    path = siblings + ([fold(rest, nodes)] if rest else [])
    proof = MerkleProof(leaf, frontier.root, len(path), 0, tuple(path + [0] * (MAX_DEPTH - len(path))))
    assert proof.computed_root() == frontier.root == frontier.folded_root(), "synthetic tree"
    return frontier, proof


def _hashes(frames: dict[str, Any]) -> int:
    """PoseidonT3 calls in a callTracer frame tree (the pool's one linked library: DELEGATECALL)."""
    return sum((c["type"] == "DELEGATECALL") + _hashes(c) for c in frames.get("calls", []))


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
    """One run of the scenario. `index` None: the real (small) tree; otherwise every measured
    operation's new note lands at leaf `index` of a preloaded depth-20 tree, through the proven
    append (`stale` False: the proof was made against the pool's current tree) or the on-chain
    insert (`stale` True: it was made against the tree one note before)."""

    def __init__(self, settings: Settings, index: int | None, replay: AnvilReplay, *, stale: bool = False) -> None:
        self.chain = InProcessChain(timestamp=T0)
        self.replay = replay
        self.settings, self.index, self.stale = settings, index, stale
        self.rng = random.Random(f"pool_gas {index} {stale}")
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
        self.hashes: dict[str, int] = {}
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

    def tree_for(self, leaf: int | None) -> tuple[Frontier, MerkleProof | None]:
        """The tree the next proof is made against (and `leaf`'s membership proof in it): the
        model's own in the small case, else a synthetic one of `index` leaves (proven) or
        `index` - 1 (stale)."""
        if self.index is None:
            tree = self.model.tree
            return tree.frontier(), None if leaf is None else tree.proof(leaf)
        return synthetic_tree(self.index - self.stale, leaf, self.rng)

    def _store(self, slot: int, value: int) -> None:
        self.chain.evm.insert_account_storage(self.pool.address, slot, value)

    def _preload(self, proved: Frontier) -> None:
        """The pool's tree as if it held `index` leaves, so the next note lands at leaf `index`:
        size, depth, side nodes, the current root, and a full root window (a ring slot is
        overwritten, not set from zero, as in a pool that has recorded 30 roots). Proven: the
        current tree is `proved` itself. Stale: `proved` (index - 1 leaves) grew by one note
        since; its root is the window's previous one, so a membership against it still verifies."""
        if self.index is None:
            return
        evm, addr = self.chain.evm, self.pool.address
        depth = max(self.index - 1, 1).bit_length()
        current = proved.append(self.rng.randrange(1, R)).root if self.stale else proved.root
        self._store(SLOT_SIZE, self.index)
        self._store(SLOT_DEPTH, depth)
        for level in range(depth + 1):
            slot = int.from_bytes(keccak(encode(["uint256", "uint256"], [level, SLOT_SIDE_NODES])), "big")
            node = proved.nodes[level] if level < MAX_DEPTH and not self.stale else 0
            self._store(slot, current if level == depth else node or 1000 + level)
        for k in range(ROOT_HISTORY):
            if evm.storage(addr, SLOT_ROOTS + k) == 0:
                self._store(SLOT_ROOTS + k, 2000 + k)  # never a real root
        written = evm.storage(addr, SLOT_ROOTS_WRITTEN)
        assert written >= 2, "the window needs two roots"
        self._store(SLOT_ROOTS + (written - 1) % ROOT_HISTORY, current)
        if self.stale:
            self._store(SLOT_ROOTS + (written - 2) % ROOT_HISTORY, proved.root)

    def _measured(
        self, name: str, sender: str, calldata: bytes, send: Callable[[], Any], proved: Frontier, commitment: int
    ) -> None:
        """The transaction's gas and breakdown replayed on anvil from this chain's state
        (AnvilReplay), then the transaction on this chain (the scenario moves on), then a check
        that the path the case is about was taken: the proven root stored and no hash, or the
        on-chain insert's popcount(index) hashes."""
        self._preload(proved)
        gas, frames = self.replay.measure(self.chain.evm, self.chain.timestamp(), sender, self.pool.address, calldata)
        self.gas[name] = gas
        self.hashes[name] = _hashes(frames)
        self.parts[name] = breakdown(gas, calldata, frames, self._label)
        send()
        root = self.pool._uint("currentRoot()")
        if self.stale:
            assert self.index is not None and self.hashes[name] == self.index.bit_count(), (name, self.hashes[name])
            assert root != proved.append(commitment).root, name
        else:
            assert self.hashes[name] == 0, (name, self.hashes[name])
            assert root == proved.append(commitment).root, f"{name}: the proven append was not taken"

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

    def check_layout(self) -> None:
        evm, addr = self.chain.evm, self.pool.address
        n = self.model.tree.size
        assert evm.storage(addr, SLOT_SIZE) == n and evm.storage(addr, SLOT_ROOTS_WRITTEN) == n, "storage layout"
        assert evm.storage(addr, SLOT_ROOTS + (n - 1) % ROOT_HISTORY) == self.model.tree.root, "storage layout"
        side = int.from_bytes(keccak(encode(["uint256", "uint256"], [self.model.tree.depth, SLOT_SIDE_NODES])), "big")
        assert evm.storage(addr, SLOT_DEPTH) == self.model.tree.depth, "storage layout"
        assert evm.storage(addr, side) == self.model.tree.root, "storage layout"

    def open(self, who: tuple[str, PoolClient, int], asset: int, amount: int, name: str | None) -> Note:
        address, client, sk = who
        b = self.pool.binding(address, ZERO)  # the pool's own bindingOf: chain id, pool, sender, recipient
        frontier = self.tree_for(None)[0] if name else self.model.tree.frontier()
        t0 = time.perf_counter()
        bundle, note = pool_statements.prove_open(
            self.model.market(self.chain.timestamp()),
            asset,
            amount,
            owner_tag(sk),
            b,
            viewing_key=babyjub.public_key(sk % (babyjub.L - 1) + 1),
            keepers=[DEV_KEEPER.public],
            frontier=frontier,
            settings=self.settings,
        )
        seconds = time.perf_counter() - t0
        token = self.tokens[asset]
        if name:
            calldata = open_calldata(token, bundle)
            self._measured(name, address, calldata, lambda: client.open(token, bundle), frontier, note.commitment)
            self.prove_s[name] = seconds
        else:
            client.open(token, bundle)
        self.model.open(asset, amount, note, self.chain.timestamp())
        return note

    def op(self, who: tuple[str, PoolClient, int], note: Note, op: Op, asset: int, amount: int) -> Note:
        address, client, sk = who
        recipient = None if op in (Op.DEPOSIT, Op.REPAY) else "0x" + "c1" * 20
        b = self.pool.binding(address, recipient or ZERO)
        now = self.chain.timestamp()
        frontier, membership = self.tree_for(note.commitment)
        assert membership is not None
        t0 = time.perf_counter()
        bundle, new = pool_statements.prove_transition(
            note,
            sk,
            membership,
            op,
            asset,
            amount,
            self.model.market(now),
            b,
            keepers=[DEV_KEEPER.public],
            frontier=frontier,
            settings=self.settings,
        )
        seconds = time.perf_counter() - t0
        name = op.name.lower()
        token = self.tokens[asset]
        calldata = transition_calldata(op, token, bundle, recipient)
        self._measured(
            name,
            address,
            calldata,
            lambda: client.transact(op, token, bundle, recipient),
            frontier,
            new.commitment,
        )
        self.model.transact(op, note, new, asset, amount, now)
        self.prove_s[name] = seconds
        return new


def run_case(settings: Settings, index: int | None, replay: AnvilReplay, *, stale: bool = False) -> Bench:
    b = Bench(settings, index, replay, stale=stale)
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


def liquidation_verify_gas(settings: Settings) -> tuple[str, int]:
    """benchmarks/onchain.py's liquidation_4 proof, one verifyProof transaction on pyrevm."""
    assets = tuple(Asset(f"T{i}", 18, 8000, 10500) for i in range(4))
    market = Market("bench4", assets)
    prices = PriceSnapshot({a.symbol: PricePoint(10**8, 1, 1) for a in assets})
    position = Position({"T0": 10**18}, {"T3": 9 * 10**17}, 42)
    bundle = lending.prove_liquidation(position, market, prices, settings=settings)
    chain = InProcessChain()
    return bundle.circuit, onchain.measure_gas(chain, api.deploy_verifier(chain, bundle.vkey, settings), bundle).total


def over_target(gas_one_bit: int, gas_worst: int) -> dict[str, Any]:
    """From the stale cases at depth 20 with 1 and 20 one bits: the gas of one more on-chain
    Poseidon(2) (the insert hashes once per one bit, and stores a side node per zero bit), the
    fewest one bits that put the operation over TARGET, and how many leaf indexes in [0, 2^20)
    have that many or more (an upper bound below 2^19, where the tree is shallower and the insert
    runs fewer levels)."""
    per_bit = (gas_worst - gas_one_bit) / 19
    need = next((k for k in range(1, 21) if gas_one_bit + (k - 1) * per_bit > TARGET), None)
    count = 0 if need is None else sum(math.comb(20, k) for k in range(need, 21))
    return {
        "gas_per_one_bit": round(per_bit),
        "min_one_bits_over": need,
        "indexes_over": count,
        "fraction_over": count / 2**20,
    }


def figures(
    constraints: dict[str, int], liq: tuple[str, int], cases: dict[str, Bench], stale: dict[str, Bench]
) -> dict[str, Any]:
    liq_circuit, liq_gas = liq
    rows: list[dict[str, Any]] = []
    for op in OPS:
        circuit = "pool_open_2" if op == "open" else "pool_transition_2"
        runs = [*cases.values(), *stale.values()]
        row: dict[str, Any] = {
            "operation": op,
            "circuit": circuit,
            "constraints": constraints[circuit],
            "prove_s_median": round(statistics.median(c.prove_s[op] for c in runs), 2),
        }
        for name, c in cases.items():
            row[f"gas_{name}"] = c.gas[op]
        for name, c in stale.items():
            row[f"gas_{name}_stale"] = c.gas[op]
        row["leaf_index_small"] = cases["small"].model.tree.size - 1  # informative: the last index reached
        row["ratio_worst_to_liquidation_verify"] = round(row["gas_worst"] / liq_gas, 2)
        row["under_1M_worst"] = row["gas_worst"] < TARGET
        row["under_1M_worst_stale"] = row["gas_worst_stale"] < TARGET
        row["stale_over_1M"] = over_target(row["gas_one_bit_stale"], row["gas_worst_stale"])
        row["breakdown_typical"] = cases["typical"].parts[op]
        row["breakdown_typical_stale"] = stale["typical"].parts[op]
        rows.append(row)
    return {
        "liquidation_verify": {"circuit": liq_circuit, "gas": liq_gas},
        "cases": dict(CASES),
        "stale": "the proof made against the tree of index - 1 leaves, the pool's holding index: on-chain insert",
        "operations": rows,
    }


BEGIN, END = "<!-- benchmarks/pool_gas.py --readme: begin -->", "<!-- benchmarks/pool_gas.py --readme: end -->"


def _n(x: int) -> str:
    return f"{x:,}"


def _names(rows: Iterable[dict[str, Any]]) -> str:
    return ", ".join(r["operation"] for r in rows) or "none"


def report(f: dict[str, Any]) -> str:
    """README.md's tables of the section "Gas and proving", from the benchmark's JSON (nothing
    typed by hand)."""
    rows = f["operations"]
    liq = f["liquidation_verify"]
    small = rows[0]["leaf_index_small"]
    out = [
        f"| operation | constraints | prove (s) | small tree (index {small}) | typical (10 one bits) "
        "| worst (2^20 - 1) | worst / liquidation verify | stale: typical | stale: worst |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['operation']} | {_n(r['constraints'])} | {r['prove_s_median']:.1f} | {_n(r['gas_small'])} "
            f"| {_n(r['gas_typical'])} | {_n(r['gas_worst'])} | {r['ratio_worst_to_liquidation_verify']:.2f} "
            f"| {_n(r['gas_typical_stale'])} | {_n(r['gas_worst_stale'])} |"
        )
    proven = [r[f"gas_{c}"] for r in rows for c in ("small", "typical", "worst", "one_bit")]
    trans = [r[f"gas_{c}"] for r in rows[1:] for c in ("typical", "worst", "one_bit")]
    out += [
        "",
        f"The plain liquidation proof (`{liq['circuit']}`), one verifyProof transaction in the same run: "
        f"{_n(liq['gas'])} gas. Proven, every operation at every leaf index measured is "
        f"{'under' if max(proven) < TARGET else 'NOT under'} 1M: at most {_n(max(proven))} "
        f"(open {_n(min(rows[0][f'gas_{c}'] for c in ('typical', 'worst', 'one_bit')))}-"
        f"{_n(max(rows[0][f'gas_{c}'] for c in ('typical', 'worst', 'one_bit')))}, the transitions "
        f"{_n(min(trans))}-{_n(max(trans))} at depth 20, one bit of 2^19 included).",
        "",
    ]
    typical = [r["breakdown_typical"] for r in rows]
    stale = [r["breakdown_typical_stale"] for r in rows]
    names = sorted({k for b in typical + stale for k in b}, key=lambda k: -typical[1].get(k, 0) - stale[1].get(k, 0))
    out += [
        "| part (typical index) | "
        + " | ".join(f"{r['operation']}" for r in rows)
        + " | stale: "
        + " | stale: ".join(r["operation"] for r in rows)
        + " |",
        "|---|" + "---|" * (2 * len(rows)),
    ]
    for k in names:
        out.append(f"| {k} | " + " | ".join(_n(b.get(k, 0)) for b in typical + stale) + " |")
    out += [
        "",
        "| stale path | one more on-chain hash (depth 20) | over 1M from | leaf indexes over 1M |",
        "|---|---|---|---|",
    ]
    for r in rows:
        s = r["stale_over_1M"]
        over = "never (none of the 20)" if s["min_one_bits_over"] is None else f"{s['min_one_bits_over']} one bits"
        out.append(
            f"| {r['operation']} | {_n(s['gas_per_one_bit'])} | {over} "
            f"| {_n(s['indexes_over'])} of 2^20 ({s['fraction_over']:.1%}) |"
        )
    typ = [r["gas_typical_stale"] for r in rows]
    worst = [r["gas_worst_stale"] for r in rows]
    out += [
        "",
        f"Stale, the same operations cost {_n(min(typ))}-{_n(max(typ))} at the typical index and "
        f"{_n(min(worst))}-{_n(max(worst))} at the worst; over 1M at the typical index: "
        f"{_names(r for r in rows if r['gas_typical_stale'] >= TARGET)}; at the worst: "
        f"{_names(r for r in rows if not r['under_1M_worst_stale'])}.",
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument(
        "--readme", action="store_true", help="rewrite README.md's gas tables from --json, measuring nothing"
    )
    args = ap.parse_args()
    if args.readme:
        if args.json is None:
            ap.error("--readme needs --json FILE (the figures to show)")
        rewrite_block(Path("README.md"), BEGIN, END, report(json.loads(args.json.read_text())))
        return
    tc = Toolchain.discover()
    settings = Settings(toolchain=tc, progress=StderrProgress())
    constraints = {
        cid: build.build(registry.get(cid), tc).compiled.meta["constraints"]
        for cid in ("pool_open_2", "pool_transition_2")
    }
    liq = liquidation_verify_gas(settings)
    with start_anvil(tc) as url:
        replay = AnvilReplay(url)
        cases = {name: run_case(settings, index, replay) for name, index in CASES.items()}
        stale = {name: run_case(settings, CASES[name], replay, stale=True) for name in STALE}
    out = figures(constraints, liq, cases, stale)
    print(report(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
