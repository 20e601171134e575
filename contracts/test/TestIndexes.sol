// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Settable reserve indexes for tests, shaped like Aave's IPool getters (1 ray until set).
contract TestIndexes {
    uint256 internal constant RAY = 1e27;
    mapping(address => uint256) internal income;
    mapping(address => uint256) internal debt;

    function setIndexes(address asset, uint256 income_, uint256 debt_) external {
        income[asset] = income_;
        debt[asset] = debt_;
    }

    function getReserveNormalizedIncome(address asset) external view returns (uint256) {
        return income[asset] == 0 ? RAY : income[asset];
    }

    function getReserveNormalizedVariableDebt(address asset) external view returns (uint256) {
        return debt[asset] == 0 ? RAY : debt[asset];
    }
}
