// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The check the pool makes when it registers a keeper's Baby Jubjub public key (issue #15
/// item 1): every note is sealed to the registered keys inside the proof, and the circuit
/// (circuits/lib/note_seal.circom) does not check them, so they are checked here, once.
/// On the curve a x^2 + y^2 = 1 + d x^2 y^2 over BN254's scalar field (EIP-2494: a = 168700,
/// d = 168696), coordinates canonical (< r), and not the identity (0, 1), to which every sealed
/// box would be readable by anyone. The prime-order subgroup check (l P = identity, ~250 doublings)
/// is made off-chain by whoever proposes the key (zkmargin.pool.sealing.check_keeper_keys): a
/// small-order key exposes only what is sealed to that keeper, and the key's registrar is trusted
/// with the keepers' privacy anyway.
library KeeperKeys {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant A = 168700;
    uint256 internal constant D = 168696;

    error InvalidKeeperKey(uint256 x, uint256 y);

    function isOnCurve(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= R || y >= R) return false;
        uint256 x2 = mulmod(x, x, R);
        uint256 y2 = mulmod(y, y, R);
        uint256 lhs = addmod(mulmod(A, x2, R), y2, R);
        uint256 rhs = addmod(1, mulmod(D, mulmod(x2, y2, R), R), R);
        return lhs == rhs;
    }

    function check(uint256 x, uint256 y) internal pure {
        if (!isOnCurve(x, y) || (x == 0 && y == 1)) revert InvalidKeeperKey(x, y);
    }
}
