"""Exact reference model: the Aave v3 health factor of a position, per named version of the rules.

Follows aave-dao/aave-v3-origin GenericLogic.calculateUserAccountData (v3.5.0 :67-181, v3.6.0
:66-183, v3.7 :65-183; paths under src/contracts/protocol/libraries/logic/) in exact integers:

  balances   collateral = rayMulFloor(scaled, liquidityIndex)           (TokenMath.getATokenBalance)
             debt       = rayMulCeil(scaled, variableBorrowIndex)       (TokenMath.getVTokenBalance)
  values     collateral floor(balance * price / 10^decimals)            (_getUserBalanceInBaseCurrency)
             debt       mulDivCeil(balance, price, 10^decimals)         (_getUserDebtInBaseCurrency)
  counted    a collateral counts iff its "use as collateral" flag is on, and in v3.5 only if the
             reserve's LT != 0 (v3.5.0 :111); v3.6+ count LT-0 collateral in TC with weight 0
             (v3.6.0 / v3.7 :105)
  LT         the eMode category's LT if the user is in a category whose collateralBitmap has the
             reserve (v3.5.0 :126-131, v3.6.0 / v3.7 :126-133), else the reserve's LT
  W  = sum(value_i * LT_i) over counted collateral,  TD = sum(debt values)
  HF = wadDiv(W, TD) / 1e4 (wadDiv half up), uint256.max when TD == 0 (v3.5.0 :160-162, v3.6.0/v3.7 :162-164)

A position holding actual amounts is the same as scaled balances at indexes of 1 ray
(rayMul by 1 ray is exact); the model refuses actual amounts under any other index.
The liquidation predicate HF < t is decided as the circuit decides it,
W * 1e18 + floor(TD / 2) < t * TD * 1e4, which is equivalent (see health.circom).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

from .aave_math import RAY, atoken_balance, mul_div_ceil, vtoken_balance
from .errors import InputError
from .limits import AMOUNT_BITS, BPS, INDEX_BITS, MAX_DECIMALS, VALUE_BITS, WAD

UINT256_MAX = 2**256 - 1

Rules = Literal["aave-v3.5", "aave-v3.6", "aave-v3.7"]
RULES: Final[tuple[Rules, ...]] = get_args(Rules)
#: the newest tagged release of aave-v3-origin; v3.7 is merged on main but untagged (README: "Rules")
DEFAULT_RULES: Final[Rules] = "aave-v3.6"
#: the public input `rulesVersion`: 10000 * major + 100 * minor + patch
RULES_VERSION: Final[dict[Rules, int]] = {"aave-v3.5": 30500, "aave-v3.6": 30600, "aave-v3.7": 30700}
#: what each name means: aave-dao/aave-v3-origin at these commits
RULES_PINS: Final[dict[Rules, str]] = {
    "aave-v3.5": "v3.5.0 = 6138e1fda45884b6547d094a1ddeef43dcab4977",
    "aave-v3.6": "v3.6.0 = 5a230ec82fcb10afc7fe7cffa8978752fb17aa2b",
    "aave-v3.7": "main 4fbd744239fd6682ebad2412f094f5f95abc6393 (v3.7.0, untagged)",
}


def rules_of_version(version: int) -> Rules | None:
    for name, v in RULES_VERSION.items():
        if v == version:
            return name
    return None


def rules_label(rules: Rules) -> str:
    """'aave-v3.6' -> 'Aave v3.6'."""
    return "Aave " + rules.removeprefix("aave-")


@dataclass(frozen=True)
class Asset:
    """One market slot: token decimals and Aave risk parameters (bps).

    `debt_ceiling` (2 decimals of the base currency, 0 = not an isolated asset) exists in v3.5
    and v3.6 only; it never changes a health factor (README: "Isolation mode")."""

    symbol: str
    decimals: int
    liquidation_threshold: int
    liquidation_bonus: int
    protocol_fee: int = 0  # liquidationProtocolFee: bps of the bonus taken by the treasury
    ltv: int | None = None  # informational: no statement depends on the LTV
    debt_ceiling: int = 0


@dataclass(frozen=True)
class EModeCategory:
    """DataTypes.EModeCategory: bit i of `collateral_bitmap` is the market's asset i."""

    id: int
    liquidation_threshold: int
    liquidation_bonus: int
    collateral_bitmap: int
    ltv: int = 0  # informational
    borrowable_bitmap: int = 0  # informational: borrowing is not a statement
    label: str = ""

    def has(self, index: int) -> bool:
        """EModeConfiguration.isReserveEnabledOnBitmap (v3.5.0/v3.6.0 :43-51, v3.7 :44-52)."""
        return (self.collateral_bitmap >> index) & 1 == 1


@dataclass(frozen=True)
class Market:
    """Ordered assets (the slot order in commitments and circuits), the Aave version whose rules
    apply, and the eMode categories."""

    name: str
    assets: tuple[Asset, ...]
    rules: Rules = DEFAULT_RULES
    emode_categories: tuple[EModeCategory, ...] = ()

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(a.symbol for a in self.assets)

    @property
    def rules_version(self) -> int:
        return RULES_VERSION[self.rules]

    def emode(self, category: int) -> EModeCategory | None:
        for c in self.emode_categories:
            if c.id == category:
                return c
        return None


@dataclass(frozen=True)
class PricePoint:
    """An oracle answer with 8 decimals, where it came from, and the reserve's indexes (ray) in
    the same block (Pool.getReserveNormalizedIncome / getReserveNormalizedVariableDebt)."""

    price: int
    round_id: int
    updated_at: int
    liquidity_index: int = RAY
    variable_borrow_index: int = RAY


@dataclass(frozen=True)
class PriceSnapshot:
    prices: dict[str, PricePoint]


@dataclass(frozen=True)
class Position:
    """The private opening of a committed position.

    `collateral` / `debt`: scaled aToken / variable-debt balances, or actual amounts in token
    base units when `scaled` is False (the same numbers at indexes of 1 ray).
    `use_as_collateral`: the assets whose "use as collateral" flag is on; None means every asset
    the position holds collateral in. `emode_category`: 0 (none) or a category of the market."""

    collateral: dict[str, int]
    debt: dict[str, int]
    salt: int
    use_as_collateral: frozenset[str] | None = None
    emode_category: int = 0
    scaled: bool = False

    def collateral_enabled(self, symbol: str) -> bool:
        if self.use_as_collateral is None:
            return self.collateral.get(symbol, 0) > 0
        return symbol in self.use_as_collateral

    def flags(self, market: Market) -> int:
        """The collateral flags as a bitmap over the market's slots (bit i = asset i)."""
        return sum(1 << i for i, s in enumerate(market.symbols) if self.collateral_enabled(s))


@dataclass(frozen=True)
class AssetValuation:
    symbol: str
    collateral_balance: int  # rayMulFloor(scaled, liquidityIndex)
    debt_balance: int  # rayMulCeil(scaled, variableBorrowIndex)
    collateral_value: int  # floor(balance * price / 10^decimals)
    debt_value: int  # mulDivCeil(balance, price, 10^decimals)
    counted: bool  # in TC and W: flag on (and, in v3.5, reserve LT != 0)
    liquidation_threshold: int  # the LT this position's collateral is weighted with (eMode or reserve)
    weighted_collateral: int  # value * LT if counted, else 0


@dataclass(frozen=True)
class Health:
    """Everything the lending statements depend on, in exact integers."""

    valuations: tuple[AssetValuation, ...]
    weighted_collateral: int  # W, base currency (8 decimals) x bps
    total_collateral: int  # TC, base currency: counted collateral, as the version counts it
    total_debt: int  # TD, base currency, 8 decimals
    rules: Rules = DEFAULT_RULES

    @property
    def health_factor(self) -> int:
        """HF in WAD, exactly as Aave computes it (uint256.max without debt)."""
        if self.total_debt == 0:
            return UINT256_MAX
        return ((self.weighted_collateral * WAD + self.total_debt // 2) // self.total_debt) // BPS

    def is_below(self, threshold: int) -> bool:
        """HF < threshold (WAD), in the circuit's division-free form."""
        return self.weighted_collateral * WAD + self.total_debt // 2 < threshold * self.total_debt * BPS


def collateral_value(amount: int, price: int, decimals: int) -> int:
    """floor(amount * price / 10^decimals): collateral rounds down."""
    return amount * price // int(10**decimals)


def debt_value(amount: int, price: int, decimals: int) -> int:
    """mulDivCeil(amount, price, 10^decimals): debt rounds up (v3.5+)."""
    return mul_div_ceil(amount, price, int(10**decimals))


def check_indexes(position: Position, market: Market, prices: PriceSnapshot) -> None:
    """Indexes are in [1 ray, 1 ray + 2^INDEX_BITS) (Aave's start at 1 ray and only grow; the circuit
    checks the same range); actual amounts are scaled balances at 1 ray: refuse them under any other index."""
    for a in market.assets:
        p = prices.prices[a.symbol]
        for index, name in ((p.liquidity_index, "liquidityIndex"), (p.variable_borrow_index, "variableBorrowIndex")):
            if not RAY <= index < RAY + 2**INDEX_BITS:
                raise InputError(
                    f"prices.{a.symbol}.{name}", f"must be in [1 ray, 1 ray + 2^{INDEX_BITS}) (ray = 1e27)"
                )
    if position.scaled:
        return
    for a in market.assets:
        p = prices.prices[a.symbol]
        for book, index, name in (
            (position.collateral, p.liquidity_index, "liquidityIndex"),
            (position.debt, p.variable_borrow_index, "variableBorrowIndex"),
        ):
            if book.get(a.symbol, 0) and index != RAY:
                raise InputError(
                    f"prices.{a.symbol}.{name}",
                    f'is {index}, but the position holds actual amounts (no "balances": "scaled"), '
                    f"which are exact only at an index of 1 ray ({RAY}): give scaled balances",
                )


def emode_of(position: Position, market: Market) -> EModeCategory | None:
    """The position's eMode category (None for category 0); InputError if the market lacks it."""
    if position.emode_category == 0:
        return None
    cat = market.emode(position.emode_category)
    if cat is None:
        raise InputError(
            "eModeCategory",
            f"category {position.emode_category} is not one of market {market.name}'s "
            f"({', '.join(str(c.id) for c in market.emode_categories) or 'none'})",
        )
    return cat


def evaluate(position: Position, market: Market, prices: PriceSnapshot) -> Health:
    """Value every slot and aggregate by the market's rules; rejects values too wide for the circuit."""
    check_indexes(position, market, prices)
    emode = emode_of(position, market)
    v35 = market.rules == "aave-v3.5"
    vals: list[AssetValuation] = []
    for i, asset in enumerate(market.assets):
        assert asset.decimals <= MAX_DECIMALS
        p = prices.prices[asset.symbol]
        coll = atoken_balance(position.collateral.get(asset.symbol, 0), p.liquidity_index)
        debt = vtoken_balance(position.debt.get(asset.symbol, 0), p.variable_borrow_index)
        for kind, v, what, bits in (
            ("collateral", coll, "balance (token base units)", AMOUNT_BITS),
            ("debt", debt, "balance (token base units)", AMOUNT_BITS),
        ):
            if v >= 2**bits:
                raise InputError(f"{kind}.{asset.symbol}", f"{what} {v} at its index must be < 2^{bits}")
        cv = collateral_value(coll, p.price, asset.decimals)
        dv = debt_value(debt, p.price, asset.decimals)
        for kind, v in (("collateral", cv), ("debt", dv)):
            if v >= 2**VALUE_BITS:
                raise InputError(
                    f"{kind}.{asset.symbol}",
                    f"value {v} (base currency, 8 decimals) at price {p.price} must be < 2^{VALUE_BITS}",
                )
        counted = position.collateral_enabled(asset.symbol) and not (v35 and asset.liquidation_threshold == 0)
        lt = emode.liquidation_threshold if emode is not None and emode.has(i) else asset.liquidation_threshold
        vals.append(AssetValuation(asset.symbol, coll, debt, cv, dv, counted, lt, cv * lt if counted else 0))
    return Health(
        valuations=tuple(vals),
        weighted_collateral=sum(v.weighted_collateral for v in vals),
        total_collateral=sum(v.collateral_value for v in vals if v.counted),
        total_debt=sum(v.debt_value for v in vals),
        rules=market.rules,
    )


def format_wad(value: int, places: int = 18) -> str:
    """1634999999999999999 -> '1.634999999999999999'; uint256.max -> 'inf'."""
    if value == UINT256_MAX:
        return "inf"
    whole, frac = divmod(value, WAD)
    s = f"{whole}.{frac:018d}"[: len(str(whole)) + 1 + places]
    return s.rstrip("0").rstrip(".") if "." in s else s
