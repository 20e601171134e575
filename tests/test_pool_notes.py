"""Notes and the note tree of the private pool: the Python tree (zkmargin/pool/tree.py), the
on-chain NoteTree.sol (InternalLeanIMT + PoseidonT3, in pyrevm) and the circuit's membership
check (NoteMembership over zk-kit's BinaryMerkleRoot(20)) agree on random leaf sets; the circuit
refuses forged paths; a proven append (NoteInsertion, NoteTree._appendNote) leaves the same tree
as an on-chain insert, in any mix with them, and the circuit refuses every forged append; insert
and append gas are measured up to depth 20."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_hash.auto import keccak

from zkmargin import build, paths, solidity
from zkmargin.errors import InputError, WitnessError
from zkmargin.evm import InProcessChain, Reverted
from zkmargin.field import R
from zkmargin.pool import babyjub
from zkmargin.pool import note as note_mod
from zkmargin.pool.note import Note, new_secret, nullifier, owner_tag
from zkmargin.pool.tree import MAX_DEPTH, Frontier, LeanIMT, MerkleProof, fold
from zkmargin.poseidon import poseidon
from zkmargin.r1cs import R1cs, read_r1cs
from zkmargin.registry import CircuitSpec
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator

POOL_CIRCOM = paths.CIRCUITS_DIR / "lib" / "pool.circom"
SEAL_CIRCOM = paths.CIRCUITS_DIR / "lib" / "note_seal.circom"
VIEW = babyjub.public_key(424242)  # an owner's viewing public key
NOTE_TREE_SOL = paths.CONTRACTS_DIR / "pool" / "NoteTree.sol"
HARNESS = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
import {NoteTree} from "pool/NoteTree.sol";
contract NoteTreeHarness is NoteTree {
    function insert(uint256 commitment) external returns (uint256) { return _insertNote(commitment); }
    function append(uint256 commitment, Insertion calldata ins) external returns (uint256) {
        return _appendNote(commitment, ins);
    }
}
"""
# the tree check circuit is a test fixture, not a registered statement
TREE_SPEC = CircuitSpec(
    "pool_tree_check_20", "lib/pool.circom", "NoteTreeCheck", (MAX_DEPTH,), ("root", "leaf", "length", "index"), "test"
)
INSERTION_SPEC = CircuitSpec(
    "pool_insertion_check_20",
    "lib/pool.circom",
    "NoteInsertionCheck",
    (MAX_DEPTH,),
    ("leaf", "size", "root", "newRoot", "newNode"),
    "test",
)
# LeanIMTData {size, depth, sideNodes, leaves} at slot 0, then _roots[30], _rootsWritten
SLOT_SIZE, SLOT_DEPTH, SLOT_SIDE_NODES, SLOT_ROOTS_WRITTEN = 0, 1, 2, 34


def sel(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


# --- notes ---


def test_domain_tags_match_the_circuit() -> None:
    text = POOL_CIRCOM.read_text() + SEAL_CIRCOM.read_text()
    for name, value in (
        ("DOMAIN_NOTE", note_mod.DOMAIN_NOTE),
        ("DOMAIN_OWNER", note_mod.DOMAIN_OWNER),
        ("DOMAIN_NULLIFIER", note_mod.DOMAIN_NULLIFIER),
    ):
        m = re.search(rf"function {name}\(\) {{ return (\d+); }}", text)
        assert m is not None and int(m.group(1)) == value, name
    assert note_mod.DOMAIN_NOTE == int.from_bytes(b"zkmargin/pool/note/v2", "big")


def test_commitment_and_nullifier_layout() -> None:
    n = Note((5, 0), (0, 7), 0b01, owner_tag(3), 11, VIEW)
    assert n.commitment == poseidon([note_mod.DOMAIN_NOTE, owner_tag(3), 11, 1, 5, 0, 0, 7, *VIEW])
    assert Note.from_fields(n.fields()) == n and len(n.fields()) == 9
    assert n.nullifier == poseidon([note_mod.DOMAIN_NULLIFIER, n.commitment, 11]) == nullifier(n.commitment, 11)
    assert owner_tag(3) == poseidon([note_mod.DOMAIN_OWNER, 3])
    # equal contents, another salt: another commitment and another nullifier
    m = n.with_salt(12)
    assert m.commitment != n.commitment and m.nullifier != n.nullifier


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scaled_collateral": (2**128, 0)}, "scaledCollateral[0]"),
        ({"scaled_debt": (0, -1)}, "scaledDebt[1]"),
        ({"collateral_flags": 4}, "collateralFlags"),
        ({"owner_tag": R}, "ownerTag"),
        ({"salt": R}, "salt"),
        ({"scaled_debt": (0,)}, "note"),
        ({"viewing_key": (1, 2)}, "viewingKey"),
        ({"viewing_key": (VIEW[0] + R, VIEW[1])}, "viewingKey"),
    ],
)
def test_note_refuses_values_the_circuit_cannot_hold(kwargs: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {
        "scaled_collateral": (1, 2),
        "scaled_debt": (3, 4),
        "collateral_flags": 3,
        "owner_tag": 5,
        "salt": 6,
        "viewing_key": VIEW,
    }
    with pytest.raises(InputError) as e:
        Note(**{**base, **kwargs})
    assert e.value.field == field


# --- the tree, three ways ---


@dataclass
class TreeContract:
    chain: InProcessChain
    address: str

    def insert(self, leaf: int) -> int:
        res = self.chain.transact(self.address, sel("insert(uint256)") + encode(["uint256"], [leaf]))
        return res.gas_used

    def append(self, leaf: int, root: int, size: int, new_root: int, new_node: int) -> int:
        data = encode(["uint256", "(uint256,uint256,uint256,uint256)"], [leaf, (root, size, new_root, new_node)])
        return self.chain.transact(
            self.address, sel("append(uint256,(uint256,uint256,uint256,uint256))") + data
        ).gas_used

    def append_from(self, frontier: Frontier, leaf: int) -> int:
        """_appendNote with the append a proof against `frontier` would carry."""
        a = frontier.append(leaf)
        return self.append(leaf, frontier.root, frontier.size, a.root, a.node)

    def view(self, signature: str, *args: int) -> int:
        data = sel(signature) + (encode(["uint256"] * len(args), list(args)) if args else b"")
        return int(decode(["uint256"], self.chain.call(self.address, data))[0])


@pytest.fixture(scope="module")
def tree_contracts(tc: Toolchain) -> dict[str, solidity.Compiled]:
    sources = {"pool/NoteTree.sol": NOTE_TREE_SOL.read_text(), "NoteTreeHarness.sol": HARNESS}
    return solidity.compile_sources(solidity.with_imports(sources, tc), tc)


def deploy_tree(contracts: dict[str, solidity.Compiled]) -> TreeContract:
    chain = InProcessChain()
    poseidon_t3 = chain.deploy(contracts["PoseidonT3"].bytecode)  # a library with a public function
    return TreeContract(chain, chain.deploy(contracts["NoteTreeHarness"].linked({"PoseidonT3": poseidon_t3})))


@dataclass(frozen=True)
class TreeCircuit:
    r1cs: R1cs
    calc: WitnessCalculator

    def inputs(self, proof: MerkleProof, root: int | None = None) -> dict[str, InputValue]:
        return {
            "root": proof.root if root is None else root,
            "leaf": proof.leaf,
            "length": proof.length,
            "index": proof.index,
            "siblings": list(proof.siblings),
        }

    def failing(self, inputs: dict[str, InputValue]) -> list[int]:
        return self.r1cs.failing_constraints(self.calc.calculate(inputs, lenient=True))


@pytest.fixture(scope="module")
def tree_circuit(tc: Toolchain) -> TreeCircuit:
    compiled = build.compile_circuit(TREE_SPEC, tc)
    return TreeCircuit(read_r1cs(compiled.r1cs), WitnessCalculator(compiled.wasm))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8, 9, 16, 17])
def test_python_solidity_and_circuit_trees_agree(
    size: int, tree_contracts: dict[str, solidity.Compiled], tree_circuit: TreeCircuit
) -> None:
    rng = random.Random(size)
    contract = deploy_tree(tree_contracts)
    tree = LeanIMT()
    for _ in range(size):
        leaf = rng.randrange(1, R)
        contract.insert(leaf)
        tree.insert(leaf)
        assert contract.view("currentRoot()") == tree.root  # after every insert, not only the last
    assert contract.view("noteCount()") == tree.size == size
    assert contract.view("treeDepth()") == tree.depth
    for leaf in tree.leaves():
        proof = tree.proof(leaf)
        assert proof.computed_root() == tree.root
        inputs = tree_circuit.inputs(proof)
        witness = tree_circuit.calc.calculate(inputs)
        assert tree_circuit.r1cs.failing_constraints(witness) == []


def test_circuit_refuses_forged_membership(tree_circuit: TreeCircuit) -> None:
    tree = LeanIMT()
    for leaf in range(1, 10):
        tree.insert(leaf * 7919)
    proof = tree.proof(5 * 7919)
    assert proof.length >= 3
    good = tree_circuit.inputs(proof)
    assert tree_circuit.failing(good) == []
    siblings = list(proof.siblings)
    siblings[1] += 1
    forged: list[dict[str, InputValue]] = [
        {**good, "root": (proof.root + 1) % R},  # another root
        {**good, "leaf": proof.leaf + 1},  # a leaf that is not in the tree
        {**good, "siblings": siblings},  # a wrong path
        {**good, "index": proof.index ^ 1},  # the leaf on the other side
        {**good, "length": proof.length - 1},  # a shorter path
        {**good, "length": MAX_DEPTH + 1, "root": 0},  # past MAX_DEPTH: BinaryMerkleRoot would output 0
        {**good, "index": proof.index + 2**MAX_DEPTH},  # path bits past MAX_DEPTH
    ]
    for inputs in forged:
        with pytest.raises(WitnessError):
            tree_circuit.calc.calculate(inputs)
        assert tree_circuit.failing(inputs), inputs


def test_tree_refuses_what_internal_lean_imt_refuses(tree_contracts: dict[str, solidity.Compiled]) -> None:
    contract = deploy_tree(tree_contracts)
    tree = LeanIMT()
    contract.insert(42)
    tree.insert(42)
    for bad in (0, 42, R):
        with pytest.raises(InputError):
            tree.insert(bad)
        with pytest.raises(Reverted):
            contract.insert(bad)


def test_root_window_keeps_the_last_30_roots(tree_contracts: dict[str, solidity.Compiled]) -> None:
    contract = deploy_tree(tree_contracts)
    tree = LeanIMT()
    roots = []
    for leaf in range(1, 36):
        contract.insert(leaf)
        tree.insert(leaf)
        roots.append(tree.root)
    assert [contract.view("isKnownRoot(uint256)", r) for r in roots[-30:]] == [1] * 30
    assert [contract.view("isKnownRoot(uint256)", r) for r in roots[:-30]] == [0] * 5
    assert contract.view("isKnownRoot(uint256)", 0) == 0  # the empty tree's root
    assert contract.view("isKnownRoot(uint256)", 12345) == 0


def test_insert_emits_the_leaf_index(tree_contracts: dict[str, solidity.Compiled]) -> None:
    contract = deploy_tree(tree_contracts)
    topic = keccak(b"NoteInserted(uint256,uint256,uint256)")
    tree = LeanIMT()
    for index, leaf in enumerate((11, 22, 33)):
        contract.insert(leaf)
        tree.insert(leaf)
        result = contract.chain.evm.result
        assert result is not None
        (log,) = result.logs
        topics = [bytes.fromhex(t.removeprefix("0x")) for t in log.topics]
        assert topics == [topic, index.to_bytes(32, "big"), leaf.to_bytes(32, "big")]
        assert int.from_bytes(bytes(log.data[1]), "big") == tree.root


def preload(contract: TreeContract, size: int) -> None:
    """Storage of a tree that already holds `size` leaves (side nodes nonzero, the root window full),
    written directly: gas depends on which slots are written and how many hashes run, not on values."""
    depth = max(size - 1, 0).bit_length()
    evm, addr = contract.chain.evm, contract.address
    evm.insert_account_storage(addr, SLOT_SIZE, size)
    evm.insert_account_storage(addr, SLOT_DEPTH, depth)
    for level in range(depth + 1):
        slot = int.from_bytes(keccak(encode(["uint256", "uint256"], [level, SLOT_SIDE_NODES])), "big")
        evm.insert_account_storage(addr, slot, 1000 + level)
    for k in range(30):
        evm.insert_account_storage(addr, 4 + k, 2000 + k)
    evm.insert_account_storage(addr, SLOT_ROOTS_WRITTEN, 1000)


#: leaves already in the tree -> measured insert gas (the README's pool section quotes these)
GAS_SIZES = (1, 2**10, 2**16 - 1, 2**19, 2**20 - 1)


def test_insert_gas_up_to_depth_20(tree_contracts: dict[str, solidity.Compiled]) -> None:
    gas = {}
    for size in GAS_SIZES:
        contract = deploy_tree(tree_contracts)
        preload(contract, size)
        gas[size] = contract.insert(new_secret() or 1)
    # 2^20 - 1 leaves: the new leaf's index has 20 one bits, so 20 Poseidon(2) hashes (the worst case)
    print("NoteTree insert gas by leaves already in the tree:", gas)
    assert gas[2**20 - 1] == max(gas.values()) < 1_000_000
    full = deploy_tree(tree_contracts)
    preload(full, 2**20)
    with pytest.raises(Reverted):
        full.insert(7)


# --- proven appends (NoteInsertion) ---


def random_frontier(size: int, rng: random.Random) -> Frontier:
    """A frontier of a tree of `size` leaves with random subtree roots (no tree of 2^20 leaves needed)."""
    nodes = tuple(rng.randrange(1, R) if (size >> k) & 1 else 0 for k in range(MAX_DEPTH))
    return Frontier(fold(size, nodes), size, nodes)


@pytest.fixture(scope="module")
def insertion_circuit(tc: Toolchain) -> TreeCircuit:
    compiled = build.compile_circuit(INSERTION_SPEC, tc)
    return TreeCircuit(read_r1cs(compiled.r1cs), WitnessCalculator(compiled.wasm))


def insertion_inputs(frontier: Frontier, leaf: int) -> dict[str, InputValue]:
    a = frontier.append(leaf)
    return {
        "leaf": leaf,
        "size": frontier.size,
        "root": frontier.root,
        "newRoot": a.root,
        "newNode": a.node,
        "frontier": list(frontier.nodes),
    }


def test_frontier_appends_as_lean_imt_inserts() -> None:
    rng = random.Random(7)
    tree = LeanIMT(max_depth=6)
    for _ in range(2**6):
        f = tree.frontier()
        leaf = rng.randrange(1, R)
        a = f.append(leaf)
        tree.insert(leaf)
        assert a.root == tree.root
        if tree.size < 2**6:  # the stored node is the new frontier's entry at its level
            assert tree.frontier().nodes[a.level] == a.node
        else:
            assert (a.level, a.node) == (6, tree.root)
    with pytest.raises(InputError):
        tree.frontier()  # full: no leaf can be appended
    with pytest.raises(InputError):
        Frontier(1, 3, (1, 2) + (0,) * 18)  # nodes that do not fold to the root


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 6, 7, 8, 2**10 - 1, 2**10, 2**19, 2**20 - 2, 2**20 - 1])
def test_circuit_appends_as_the_model(size: int, insertion_circuit: TreeCircuit) -> None:
    rng = random.Random(size)
    if size <= 8:  # a real tree
        tree = LeanIMT()
        for _ in range(size):
            tree.insert(rng.randrange(1, R))
        frontier = tree.frontier()
    else:
        frontier = random_frontier(size, rng)
    leaf = rng.randrange(1, R)
    good = insertion_inputs(frontier, leaf)
    assert insertion_circuit.failing(good) == []
    if size <= 8:
        tree.insert(leaf)
        assert good["newRoot"] == tree.root


def test_circuit_refuses_every_forged_append(insertion_circuit: TreeCircuit) -> None:
    rng = random.Random(11)
    tree = LeanIMT()
    for _ in range(11):  # 0b1011: frontier entries at levels 0, 1 and 3
        tree.insert(rng.randrange(1, R))
    frontier = tree.frontier()
    leaf = rng.randrange(1, R)
    good = insertion_inputs(frontier, leaf)
    assert insertion_circuit.failing(good) == []
    nodes = list(frontier.nodes)
    forged: list[dict[str, InputValue]] = []
    for level in (0, 1, 3):  # each used frontier entry
        bad = list(nodes)
        bad[level] = (bad[level] + 1) % R
        forged.append({**good, "frontier": bad})
    forged += [
        {**good, "root": (frontier.root + 1) % R},  # another tree
        {**good, "size": 12},  # another size of the same tree
        {**good, "size": 10},
        {**good, "newRoot": (good["newRoot"] + 1) % R},  # type: ignore[operator]
        {**good, "newNode": (good["newNode"] + 1) % R},  # type: ignore[operator]
        {**good, "leaf": leaf + 1},  # another note appended
        {**good, "size": 11 + 2**MAX_DEPTH},  # past the tree's capacity (bits above MAX_DEPTH)
    ]
    # a tree grown by one more note: the same proof's append no longer fits it
    grown = LeanIMT()
    for x in [*tree.leaves(), rng.randrange(1, R)]:
        grown.insert(x)
    forged.append({**good, "root": grown.root, "size": grown.size})
    for inputs in forged:
        assert insertion_circuit.failing(inputs), inputs
    # a full tree takes no leaf: size 2^20 has no 20-bit decomposition
    full = random_frontier(2**MAX_DEPTH - 1, rng)
    at_full = insertion_inputs(full, leaf)
    assert insertion_circuit.failing({**at_full, "size": 2**MAX_DEPTH})


def test_proven_appends_and_inserts_keep_one_tree(tree_contracts: dict[str, solidity.Compiled]) -> None:
    """Any mix of proven appends, on-chain inserts and stale appends (a proof whose tree has since
    grown: inserted on-chain) leaves the contract's root, depth and size equal to the model's
    after every step, across the power-of-two sizes where the depth grows."""
    rng = random.Random(3)
    contract = deploy_tree(tree_contracts)
    tree = LeanIMT()
    stale: Frontier | None = None
    for step in range(70):
        leaf = rng.randrange(1, R)
        how = rng.choice(("append", "append", "insert", "stale"))
        if how == "append":
            contract.append_from(tree.frontier(), leaf)
        elif how == "insert":
            contract.insert(leaf)
        else:
            # a proof made one or more notes ago: its hint is ignored, the note inserted on-chain
            old = stale or random_frontier(max(tree.size - 1, 0), rng)
            contract.append_from(old, leaf)
        stale = tree.frontier()
        tree.insert(leaf)
        assert contract.view("currentRoot()") == tree.root, (step, how)
        assert contract.view("noteCount()") == tree.size
        assert contract.view("treeDepth()") == tree.depth
        assert contract.view("isKnownRoot(uint256)", tree.root) == 1


def test_append_refuses_what_insert_refuses(tree_contracts: dict[str, solidity.Compiled]) -> None:
    contract = deploy_tree(tree_contracts)
    tree = LeanIMT()
    contract.append_from(tree.frontier(), 42)
    tree.insert(42)
    f = tree.frontier()
    with pytest.raises(Reverted):
        contract.append(42, f.root, f.size, *(lambda a: (a.root, a.node))(f.append(42)))  # LeafAlreadyExists
    with pytest.raises(Reverted):
        contract.append(0, f.root, f.size, 1, 1)  # LeafCannotBeZero
    assert contract.view("noteCount()") == 1


def test_append_gas_up_to_depth_20(tree_contracts: dict[str, solidity.Compiled]) -> None:
    """A proven append writes a bounded set of slots whatever the index: no hashing."""
    gas = {}
    rng = random.Random(5)
    for size in GAS_SIZES:
        contract = deploy_tree(tree_contracts)
        preload(contract, size)
        frontier = random_frontier(size, rng)
        # the preloaded storage's root is a placeholder: make the frontier's root the stored one
        depth = max(size - 1, 0).bit_length()
        slot = int.from_bytes(keccak(encode(["uint256", "uint256"], [depth, SLOT_SIDE_NODES])), "big")
        contract.chain.evm.insert_account_storage(contract.address, slot, frontier.root)
        leaf = new_secret() or 1
        gas[size] = contract.append_from(frontier, leaf)
        assert contract.view("noteCount()") == size + 1
        assert contract.view("currentRoot()") == frontier.append(leaf).root  # the fast path, not an insert
    print("NoteTree proven append gas by leaves already in the tree:", gas)
    assert max(gas.values()) < 120_000
