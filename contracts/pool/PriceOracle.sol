// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Chainlink's AggregatorV3Interface, the part the pool reads (price feeds and the L2
/// sequencer-uptime feed alike).
interface IChainlinkFeed {
    function decimals() external view returns (uint8);

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

/// Prices for the pool's reserves from Chainlink-shaped feeds, in the base currency with 8 decimals
/// as Aave's oracle returns them, each refused with its own error unless the round is complete,
/// positive and fresh. Aave v3.5's AaveOracle.getAssetPrice (misc/AaveOracle.sol:101-116) only asks
/// `latestAnswer() > 0` and falls back to another oracle otherwise; this pool has no fallback and
/// refuses instead, and adds the round and freshness checks Chainlink recommends.
///
/// The optional L2 sequencer-uptime feed is read as Aave's PriceOracleSentinel
/// (misc/PriceOracleSentinel.sol:58-74) reads it: borrowing and liquidating are allowed iff
/// `answer == 0 && block.timestamp - startedAt > gracePeriod`; price reads are not gated by it.
abstract contract PriceOracle {
    /// Aave's USD base currency unit (AaveOracle BASE_CURRENCY_UNIT = 1e8).
    uint8 public constant PRICE_DECIMALS = 8;
    /// ValidationLogic.sol:46
    uint256 public constant MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD = 0.95e18;

    struct PriceFeed {
        IChainlinkFeed source;
        uint32 maxAge; // seconds; a price with block.timestamp - updatedAt > maxAge is stale
    }

    mapping(address => PriceFeed) internal _priceFeeds;
    IChainlinkFeed internal _sequencerFeed; // address(0): no sequencer (L1)
    uint256 internal _gracePeriod;

    event PriceFeedSet(address indexed asset, address source, uint32 maxAge);
    event SequencerFeedSet(address source, uint256 gracePeriod);

    error NoPriceFeed(address asset);
    error FeedDecimals(address asset, uint8 decimals);
    error NonPositivePrice(address asset, int256 answer);
    error RoundNotStarted(address asset, uint80 roundId);
    error IncompleteRound(address asset, uint80 roundId, uint80 answeredInRound);
    error PriceFromFuture(address asset, uint256 updatedAt);
    error StalePrice(address asset, uint256 updatedAt, uint256 maxAge);
    error SequencerDown(int256 answer);
    error GracePeriodNotOver(uint256 startedAt, uint256 gracePeriod);

    /// Sets `asset`'s feed; it must quote with PRICE_DECIMALS decimals (Aave assumes every source
    /// quotes in the base currency unit) and `maxAge` must be positive.
    function _setPriceFeed(address asset, IChainlinkFeed source, uint32 maxAge) internal {
        if (address(source) == address(0) || maxAge == 0) revert NoPriceFeed(asset);
        uint8 d = source.decimals();
        if (d != PRICE_DECIMALS) revert FeedDecimals(asset, d);
        _priceFeeds[asset] = PriceFeed(source, maxAge);
        emit PriceFeedSet(asset, address(source), maxAge);
    }

    /// Sets (or, with address(0), removes) the L2 sequencer-uptime feed and its grace period
    /// (PriceOracleSentinel constructor :51-55).
    function _setSequencerFeed(IChainlinkFeed source, uint256 gracePeriod) internal {
        _sequencerFeed = source;
        _gracePeriod = gracePeriod;
        emit SequencerFeedSet(address(source), gracePeriod);
    }

    /// The price of one whole `asset` in the base currency (8 decimals), or a revert naming what is
    /// wrong with the round.
    function getAssetPrice(address asset) public view returns (uint256) {
        PriceFeed memory f = _priceFeeds[asset];
        if (address(f.source) == address(0)) revert NoPriceFeed(asset);
        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            f.source.latestRoundData();
        if (answer <= 0) revert NonPositivePrice(asset, answer);
        if (startedAt == 0) revert RoundNotStarted(asset, roundId);
        if (answeredInRound < roundId) revert IncompleteRound(asset, roundId, answeredInRound);
        if (updatedAt > block.timestamp) revert PriceFromFuture(asset, updatedAt);
        if (block.timestamp - updatedAt > f.maxAge) revert StalePrice(asset, updatedAt, f.maxAge);
        return uint256(answer);
    }

    /// PriceOracleSentinel.isBorrowAllowed :58-60 (true without a sequencer feed).
    function isBorrowAllowed() public view returns (bool) {
        return _sequencerProblem() == 0;
    }

    /// PriceOracleSentinel.isLiquidationAllowed :63-65 (the same condition; the HF exemption is
    /// _requireLiquidationAllowed's).
    function isLiquidationAllowed() public view returns (bool) {
        return _sequencerProblem() == 0;
    }

    /// Reverts with SequencerDown or GracePeriodNotOver unless borrowing is allowed
    /// (ValidationLogic.validateBorrow :160-164 asks the sentinel the same question).
    function _requireBorrowAllowed() internal view {
        _requireSequencerUp();
    }

    /// Before a liquidation, as ValidationLogic.validateLiquidationCall :330-335: allowed while the
    /// sequencer is down or in its grace period only for a position whose health factor is below
    /// MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD (0.95, :46). `healthFactorBelow` is a bound the
    /// caller has established (a private position's proof shows HF < bound, not HF itself): the
    /// exemption applies when bound <= 0.95e18.
    function _requireLiquidationAllowed(uint256 healthFactorBelow) internal view {
        if (healthFactorBelow <= MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD) return;
        _requireSequencerUp();
    }

    function _requireSequencerUp() private view {
        uint256 problem = _sequencerProblem();
        if (problem == 0) return;
        (, int256 answer, uint256 startedAt,,) = _sequencerFeed.latestRoundData();
        if (problem == 1) revert SequencerDown(answer);
        revert GracePeriodNotOver(startedAt, _gracePeriod);
    }

    /// 0: allowed; 1: the sequencer is down (answer != 0); 2: up for no more than the grace period.
    /// _isUpAndGracePeriodPassed :71-74; a startedAt in the future counts as inside the grace
    /// period (v3.5 would underflow and revert).
    function _sequencerProblem() private view returns (uint256) {
        if (address(_sequencerFeed) == address(0)) return 0;
        (, int256 answer, uint256 startedAt,,) = _sequencerFeed.latestRoundData();
        if (answer != 0) return 1;
        if (startedAt > block.timestamp || block.timestamp - startedAt <= _gracePeriod) return 2;
        return 0;
    }
}
