"""The pool's note tree: zk-kit's LeanIMT with Poseidon(2), as InternalLeanIMT.sol keeps it on-chain
(contracts/pool/NoteTree.sol) and as BinaryMerkleRoot(MAX_DEPTH) checks membership in-circuit.

LeanIMT (zk-kit): leaves are appended left to right; the depth is the smallest d with
2^d >= size; a node with no right sibling is carried up unhashed (parent = left child), otherwise
parent = Poseidon(left, right). The empty tree's root is 0 (never a known root on-chain); a tree of
one leaf has that leaf as root. A membership proof lists only the levels where the node has a
sibling: `siblings` (padded with 0 to MAX_DEPTH), `length` (how many are real: BinaryMerkleRoot's
`depth` input) and `index` (bit k = 1 when the k-th listed sibling is on the left), which the
circuit decomposes into its `indices` bits.

Owner proofs also append their new note (NoteInsertion in circuits/lib/pool.circom): `frontier()`
gives what that needs of the tree, and `Frontier.append` is the model of it, which the pool's
NoteTree._appendNote trusts when the proof's tree is its current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..errors import InputError
from ..field import R
from ..poseidon import poseidon

#: the circuits' static maximum: 2^20 notes
MAX_DEPTH: Final = 20


def hash_pair(left: int, right: int) -> int:
    return poseidon([left, right])


@dataclass(frozen=True)
class MerkleProof:
    leaf: int
    root: int
    length: int  # siblings actually used (BinaryMerkleRoot's `depth`)
    index: int  # bit k: the k-th used sibling is on the left
    siblings: tuple[int, ...]  # length MAX_DEPTH, zero-padded

    @property
    def indices(self) -> list[int]:
        return [(self.index >> k) & 1 for k in range(len(self.siblings))]

    def computed_root(self) -> int:
        node = self.leaf
        for k in range(self.length):
            sib = self.siblings[k]
            node = hash_pair(sib, node) if (self.index >> k) & 1 else hash_pair(node, sib)
        return node


class LeanIMT:
    """An append-only LeanIMT over field elements (leaves nonzero and unique, as InternalLeanIMT)."""

    def __init__(self, max_depth: int = MAX_DEPTH) -> None:
        self.max_depth = max_depth
        self._levels: list[list[int]] = [[]]  # level 0: leaves; level k: nodes of height k
        self._index: dict[int, int] = {}

    @property
    def size(self) -> int:
        return len(self._levels[0])

    @property
    def depth(self) -> int:
        return len(self._levels) - 1

    @property
    def root(self) -> int:
        return self._levels[-1][0] if self.size else 0

    def leaves(self) -> list[int]:
        return list(self._levels[0])

    def index_of(self, leaf: int) -> int:
        if leaf not in self._index:
            raise InputError("leaf", "is not in the tree")
        return self._index[leaf]

    def insert(self, leaf: int) -> int:
        """Append a leaf; returns its index. Refuses what InternalLeanIMT._insert refuses."""
        if not 0 < leaf < R:
            raise InputError("leaf", "must be a nonzero field element")
        if leaf in self._index:
            raise InputError("leaf", "is already in the tree")
        if self.size >= 2**self.max_depth:
            raise InputError("leaf", f"the tree is full (2^{self.max_depth} leaves)")
        index = self.size
        self._levels[0].append(leaf)
        self._index[leaf] = index
        if 2**self.depth < self.size:  # the tree grows one level
            self._levels.append([])
        node, i = leaf, index
        for level in range(self.depth):
            parent = i >> 1
            if i & 1:
                node = hash_pair(self._levels[level][i - 1], node)
            nxt = self._levels[level + 1]
            if parent < len(nxt):
                nxt[parent] = node
            else:
                nxt.append(node)
            i = parent
        return index

    def proof(self, leaf_or_index: int, *, by_index: bool = False) -> MerkleProof:
        """The membership proof as BinaryMerkleRoot(max_depth) takes it."""
        index = leaf_or_index if by_index else self.index_of(leaf_or_index)
        if not 0 <= index < self.size:
            raise InputError("index", f"must be in [0, {self.size})")
        siblings: list[int] = []
        bits = 0
        i = index
        for level in range(self.depth):
            nodes = self._levels[level]
            sib = i ^ 1
            if sib < len(nodes):
                if i & 1:
                    bits |= 1 << len(siblings)
                siblings.append(nodes[sib])
            i >>= 1
        length = len(siblings)
        padded = tuple(siblings + [0] * (self.max_depth - length))
        return MerkleProof(self._levels[0][index], self.root, length, bits, padded)

    def frontier(self) -> Frontier:
        """What appending the next leaf needs of this tree (NoteInsertion's private input)."""
        nodes = [0] * self.max_depth
        for level in range(min(self.depth + 1, self.max_depth)):
            if (self.size >> level) & 1:
                # the complete subtree of 2^level leaves just left of the next leaf
                nodes[level] = self._levels[level][(self.size >> level) - 1]
        return Frontier(self.root, self.size, tuple(nodes))


def fold(size: int, nodes: Sequence[int]) -> int:
    """The LeanIMT root of a tree of `size` leaves from its complete subtrees' roots `nodes[l]` (one
    per one bit l of size), lowest first: H(nodes[l_k], ... H(nodes[l_1], nodes[l_0])); 0 for no leaf."""
    acc: int | None = None
    for level, node in enumerate(nodes):
        if (size >> level) & 1:
            acc = node if acc is None else hash_pair(node, acc)
    return 0 if acc is None else acc


@dataclass(frozen=True)
class Appended:
    """A leaf appended through a proof: the root after it and the node the pool stores as its
    frontier entry at level `level` (the trailing one bits of the old size), which is all the
    pool's LeanIMT storage must learn for its next on-chain insert to continue from it."""

    root: int
    node: int
    level: int


@dataclass(frozen=True)
class Frontier:
    """A LeanIMT of `size` leaves as appending needs it: the roots of its complete subtrees,
    `nodes[l]` for each one bit l of size (0 elsewhere). Its root is their fold from the lowest
    one bit up, root = H(nodes[l_k], ... H(nodes[l_1], nodes[l_0])), which the pool's stored root
    pins (collision resistance), so a proof that derives both the old and the new root from one
    frontier has appended the leaf to exactly the pool's tree. NoteInsertion (circuits/lib/pool.circom)
    computes this, line for line."""

    root: int
    size: int
    nodes: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.size < 2 ** len(self.nodes):
            raise InputError("frontier", f"size must be in [0, 2^{len(self.nodes)}) (a full tree takes no leaf)")
        if self.folded_root() != self.root:
            raise InputError("frontier", "its nodes do not fold to its root")

    def folded_root(self) -> int:
        return fold(self.size, self.nodes)

    def append(self, leaf: int) -> Appended:
        """InternalLeanIMT._insert of `leaf` at index `size`, from the frontier alone."""
        node, level = leaf, None
        for k, side in enumerate(self.nodes):
            if (self.size >> k) & 1:
                node = hash_pair(side, node)
            elif level is None:
                level = k
                stored = node
        if level is None:  # size = 2^depth - 1: the new subtree is the whole tree
            level, stored = len(self.nodes), node
        return Appended(node, stored, level)
