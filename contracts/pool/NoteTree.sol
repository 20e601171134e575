// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InternalLeanIMT, LeanIMTData} from "@zk-kit/imt.sol/internal/InternalLeanIMT.sol";

/// The private pool's note tree: zk-kit's LeanIMT (Poseidon(2) through poseidon-solidity's
/// PoseidonT3, a library with a public function: deploy it and link it), at most 2^MAX_DEPTH
/// notes (the circuits' BinaryMerkleRoot(20)), and a window of the last ROOT_HISTORY_SIZE roots so
/// that proofs made against a slightly older root still verify (Tornado Cash keeps 30).
/// zkmargin/pool/tree.py computes the same roots and the membership proofs the circuits take.
abstract contract NoteTree {
    using InternalLeanIMT for LeanIMTData;

    uint256 public constant MAX_DEPTH = 20;
    uint256 public constant ROOT_HISTORY_SIZE = 30;

    LeanIMTData internal _tree;
    /// ring buffer of recent roots; `_rootsWritten` counts every root ever recorded
    uint256[ROOT_HISTORY_SIZE] internal _roots;
    uint256 internal _rootsWritten;

    /// A new note: its leaf index (the owner's wallet needs it for the membership proof) and the root after it.
    event NoteInserted(uint256 indexed index, uint256 indexed commitment, uint256 root);

    error TreeFull();

    /// Appends a commitment (nonzero, < r, never inserted before: InternalLeanIMT reverts otherwise).
    function _insertNote(uint256 commitment) internal returns (uint256 index) {
        index = _tree.size;
        if (index >= 2 ** MAX_DEPTH) revert TreeFull();
        uint256 newRoot = _tree._insert(commitment);
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
