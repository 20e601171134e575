// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {KeeperKeys} from "../KeeperKeys.sol";
import {PoseidonT6} from "poseidon-solidity/PoseidonT6.sol";

/// Test and measurement harness of the sealed notes' on-chain side (tests/test_pool_sealing.py).
contract SealHarness {
    function checkKeeperKey(uint256 x, uint256 y) external pure returns (bool) {
        KeeperKeys.check(x, y);
        return true;
    }

    /// What hashing a note's public seal on-chain would cost (the alternative to exposing it as
    /// public inputs): a Poseidon chain over `xs`, 5 elements in the first PoseidonT6 call and the
    /// previous digest plus 4 in each next one. Returns the digest and the gas of the hashing alone.
    function sealHashGas(uint256[] calldata xs) external view returns (uint256 h, uint256 gasUsed) {
        uint256 g = gasleft();
        uint256[5] memory block_;
        uint256 i = 0;
        for (uint256 j = 0; j < 5; j++) {
            block_[j] = i < xs.length ? xs[i] : 0;
            i++;
        }
        h = PoseidonT6.hash(block_);
        while (i < xs.length) {
            block_[0] = h;
            for (uint256 j = 1; j < 5; j++) {
                block_[j] = i < xs.length ? xs[i] : 0;
                i++;
            }
            h = PoseidonT6.hash(block_);
        }
        gasUsed = g - gasleft();
    }
}
