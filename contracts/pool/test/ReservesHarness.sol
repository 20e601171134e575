// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Reserves} from "../Reserves.sol";
import {PriceOracle, IChainlinkFeed} from "../PriceOracle.sol";

/// Test only: Reserves and PriceOracle behind external functions without access control, each
/// nonReentrant as the pool's will be. Tokens come from and go to msg.sender unless `to` is given.
contract ReservesHarness is Reserves, PriceOracle, ReentrancyGuard {
    function listReserve(
        address asset,
        RiskParameters calldata risk,
        InterestRateData calldata rates,
        IChainlinkFeed feed,
        uint32 maxAge
    ) external {
        _listReserve(asset, risk, rates);
        _setPriceFeed(asset, feed, maxAge);
    }

    function setSequencerFeed(IChainlinkFeed feed, uint256 gracePeriod) external {
        _setSequencerFeed(feed, gracePeriod);
    }

    function supply(address asset, uint256 amount) external nonReentrant returns (uint256) {
        return _supply(asset, msg.sender, amount);
    }

    function withdraw(address asset, uint256 amount, address to) external nonReentrant returns (uint256) {
        return _withdraw(asset, to, amount);
    }

    function withdrawScaled(address asset, uint256 scaled, address to) external nonReentrant returns (uint256) {
        return _withdrawScaled(asset, to, scaled);
    }

    function withdrawTreasury(address asset, uint256 amount, address to) external nonReentrant returns (uint256) {
        return _withdrawTreasury(asset, to, amount);
    }

    function borrow(address asset, uint256 amount, address to) external nonReentrant returns (uint256) {
        _requireBorrowAllowed();
        return _borrow(asset, to, amount);
    }

    function repay(address asset, uint256 amount) external nonReentrant returns (uint256) {
        return _repay(asset, msg.sender, amount);
    }

    function repayScaled(address asset, uint256 scaledDebt) external nonReentrant returns (uint256) {
        return _repayScaled(asset, msg.sender, scaledDebt);
    }

    function requireLiquidationAllowed(uint256 healthFactorBelow) external view {
        _requireLiquidationAllowed(healthFactorBelow);
    }

    function accrue(address asset) external nonReentrant {
        _updateState(asset);
    }

    /// A liquidation's bad debt alone: `deficit` of scaled debt burnt and covered (insurance
    /// fund, socialization, reserveDeficit), as PrivateMarginPool._settleLiquidation does it.
    function writeOff(address asset, uint256 deficit)
        external
        nonReentrant
        returns (uint256 fromInsurance, uint256 socialized)
    {
        _burnLiquidatedDebt(asset, 0, deficit);
        return _coverDeficit(asset, deficit);
    }
}
