"""The pool's note tree: zk-kit's LeanIMT with Poseidon(2), as InternalLeanIMT.sol keeps it on-chain
(contracts/pool/NoteTree.sol) and as BinaryMerkleRoot(MAX_DEPTH) checks membership in-circuit.

LeanIMT (zk-kit): leaves are appended left to right; the depth is the smallest d with
2^d >= size; a node with no right sibling is carried up unhashed (parent = left child), otherwise
parent = Poseidon(left, right). The empty tree's root is 0 (never a known root on-chain); a tree of
one leaf has that leaf as root. A membership proof lists only the levels where the node has a
sibling: `siblings` (padded with 0 to MAX_DEPTH), `length` (how many are real: BinaryMerkleRoot's
`depth` input) and `index` (bit k = 1 when the k-th listed sibling is on the left), which the
circuit decomposes into its `indices` bits.
"""

from __future__ import annotations

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
