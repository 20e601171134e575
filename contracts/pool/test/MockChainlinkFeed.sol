// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Test only: a Chainlink-shaped feed whose round (all five fields) and decimals are set by anyone.
contract MockChainlinkFeed {
    uint8 public immutable decimals;
    uint80 internal _roundId;
    int256 internal _answer;
    uint256 internal _startedAt;
    uint256 internal _updatedAt;
    uint80 internal _answeredInRound;

    constructor(uint8 decimals_) {
        decimals = decimals_;
    }

    function setRound(uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
        external
    {
        (_roundId, _answer, _startedAt, _updatedAt, _answeredInRound) =
            (roundId, answer, startedAt, updatedAt, answeredInRound);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return (_roundId, _answer, _startedAt, _updatedAt, _answeredInRound);
    }
}

/// Test only: an L2 sequencer-uptime feed as Chainlink publishes it: answer 0 = up, 1 = down,
/// startedAt = when the status last changed.
contract MockSequencerUptimeFeed {
    uint8 public constant decimals = 0;
    uint80 internal _roundId;
    int256 internal _answer;
    uint256 internal _startedAt;

    function setStatus(bool down, uint256 since) external {
        _roundId += 1;
        _answer = down ? int256(1) : int256(0);
        _startedAt = since;
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return (_roundId, _answer, _startedAt, _startedAt, _roundId);
    }
}
