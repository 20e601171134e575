// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// A settable Chainlink-shaped price feed for tests (8 decimals, like USD feeds).
contract TestAggregator {
    uint80 public roundId;
    int256 public answer;
    uint256 public updatedAt;

    function decimals() external pure returns (uint8) {
        return 8;
    }

    function setRound(uint80 roundId_, int256 answer_, uint256 updatedAt_) external {
        roundId = roundId_;
        answer = answer_;
        updatedAt = updatedAt_;
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return (roundId, answer, updatedAt, updatedAt, roundId);
    }
}
