// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReservesHarness} from "../test/ReservesHarness.sol";
import {IChainlinkFeed} from "../PriceOracle.sol";

/// Devnet only: the stand-in for PrivateMarginPool until it exists. ReservesHarness (open
/// supply/withdraw/borrow/repay entry points, each nonReentrant) whose constructor lists every
/// reserve of the deployment config with its price feed, sets the optional L2 sequencer feed and
/// records the treasury, so that one transaction deploys a pool whose parameters can be read back.
/// zkmargin/pool/deploy.py:deploy_pool is the one place that names this contract.
contract DevnetPool is ReservesHarness {
    struct ReserveConfig {
        address asset;
        RiskParameters risk;
        InterestRateData rates;
        IChainlinkFeed feed;
        uint32 maxAge;
    }

    /// Where the reserve factor's share would be paid; the harness's withdrawTreasury is open, so
    /// on a devnet this is a label, not an access check.
    address public immutable treasury;

    constructor(ReserveConfig[] memory reserves, IChainlinkFeed sequencerFeed, uint256 gracePeriod, address treasury_) {
        for (uint256 i = 0; i < reserves.length; i++) {
            ReserveConfig memory c = reserves[i];
            _listReserve(c.asset, c.risk, c.rates);
            _setPriceFeed(c.asset, c.feed, c.maxAge);
        }
        if (address(sequencerFeed) != address(0)) _setSequencerFeed(sequencerFeed, gracePeriod);
        treasury = treasury_;
    }
}
