// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {
    InternalLeanIMT,
    LeanIMTData,
    LeafCannotBeZero,
    LeafAlreadyExists
} from "@zk-kit/imt.sol/internal/InternalLeanIMT.sol";

/// The private pool's note tree: zk-kit's LeanIMT (Poseidon(2) through poseidon-solidity's
/// PoseidonT3, a library with a public function: deploy it and link it), at most 2^MAX_DEPTH
/// notes (the circuits' BinaryMerkleRoot(20)), and a window of the last ROOT_HISTORY_SIZE roots so
/// that proofs made against a slightly older root still verify (Tornado Cash keeps 30).
/// A note is appended one of two ways, to the same tree:
///  - proven (_appendNote): the owner's proof computed the append (NoteInsertion) from the tree
///    it was made against; when that is still the current tree the pool stores the proven root
///    and the one side node the append completes, and hashes nothing;
///  - on-chain (_insertNote): InternalLeanIMT._insert, popcount(index) Poseidon hashes; for
///    liquidations, and for a proof whose tree another note has since grown.
/// zkmargin/pool/tree.py computes the same roots, frontiers and membership proofs the circuits take.
abstract contract NoteTree {
    using InternalLeanIMT for LeanIMTData;

    uint256 public constant MAX_DEPTH = 20;
    uint256 public constant ROOT_HISTORY_SIZE = 30;

    LeanIMTData internal _tree;
    /// ring buffer of recent roots; `_rootsWritten` counts every root ever recorded
    uint256[ROOT_HISTORY_SIZE] internal _roots;
    uint256 internal _rootsWritten;

    /// The tree a proof appended its new note to and NoteInsertion's outputs: `root` (also the
    /// membership root of a transition) and `size` of the tree, the root after the append and the
    /// side node it completes.
    struct Insertion {
        uint256 root;
        uint256 size;
        uint256 newRoot;
        uint256 newNode;
    }

    /// A new note: its leaf index (the owner's wallet needs it for the membership proof) and the root after it.
    event NoteInserted(uint256 indexed index, uint256 indexed commitment, uint256 root);

    error TreeFull();

    /// Appends a commitment (nonzero, < r, never inserted before: InternalLeanIMT reverts otherwise).
    function _insertNote(uint256 commitment) internal returns (uint256 index) {
        index = _tree.size;
        if (index >= 2 ** MAX_DEPTH) revert TreeFull();
        _recordRoot(index, commitment, _tree._insert(commitment));
    }

    /// Appends a commitment whose append a verified proof computed for the tree (ins.root,
    /// ins.size). When that is the current tree, storage is left as InternalLeanIMT._insert would
    /// leave everything it later reads: size, depth, the side node at the first zero bit of the
    /// old size (the root of the subtree the append completes: the side nodes at the other one
    /// bits of the new size are unchanged), the root at sideNodes[depth] and the leaf's index.
    /// _insert also writes partial nodes at the other zero bits; neither _insert nor _root reads
    /// a side node there before it is written again (the pool never calls _update or _remove).
    /// Otherwise the note is inserted on-chain: the operation costs more but never fails because
    /// another note landed first.
    function _appendNote(uint256 commitment, Insertion calldata ins) internal returns (uint256 index) {
        index = _tree.size;
        uint256 depth = _tree.depth;
        if (ins.size != index || ins.root != _tree.sideNodes[depth]) return _insertNote(commitment);
        // the circuit's size < 2^MAX_DEPTH makes TreeFull unreachable here; InternalLeanIMT's own refusals:
        if (commitment == 0) revert LeafCannotBeZero();
        if (_tree.leaves[commitment] != 0) revert LeafAlreadyExists();
        if (2 ** depth < index + 1) {
            ++depth;
            _tree.depth = depth;
        }
        uint256 level = 0;
        while ((index >> level) & 1 == 1) {
            ++level;
        }
        if (level != depth) _tree.sideNodes[level] = ins.newNode; // level == depth: the new root itself
        _tree.sideNodes[depth] = ins.newRoot;
        _tree.size = index + 1;
        _tree.leaves[commitment] = index + 1;
        _recordRoot(index, commitment, ins.newRoot);
    }

    function _recordRoot(uint256 index, uint256 commitment, uint256 newRoot) private {
        _roots[_rootsWritten % ROOT_HISTORY_SIZE] = newRoot;
        unchecked {
            ++_rootsWritten;
        }
        emit NoteInserted(index, commitment, newRoot);
    }

    /// True for the current root and the ROOT_HISTORY_SIZE - 1 before it; never for 0 (the empty
    /// tree). Searched newest first, so the usual case (a proof against the current root) reads one slot.
    function isKnownRoot(uint256 root) public view returns (bool) {
        if (root == 0) return false;
        uint256 written = _rootsWritten;
        uint256 n = written < ROOT_HISTORY_SIZE ? written : ROOT_HISTORY_SIZE;
        for (uint256 k = 1; k <= n; ++k) {
            if (_roots[(written - k) % ROOT_HISTORY_SIZE] == root) return true;
        }
        return false;
    }

    function currentRoot() public view returns (uint256) {
        return _tree._root();
    }

    function noteCount() public view returns (uint256) {
        return _tree.size;
    }

    function treeDepth() public view returns (uint256) {
        return _tree.depth;
    }
}
