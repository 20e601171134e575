"""Exact reference model: Aave v3.5 health factor in Python integers.

Follows aave-v3-origin v3.5 (GenericLogic.calculateUserAccountData):
  collateral value  floor(amount * price / 10^decimals)   (rounds down)
  debt value        ceil(amount * price / 10^decimals)    (v3.5 rounds debt up)
  W  = sum(collateralValue_i * LT_i)          (LT in bps)
  TD = sum(debtValue_i)
  HF = wadDiv(W, TD) / 1e4, wadDiv(a, b) = (a * 1e18 + b / 2) / b (half up),
  HF = uint256.max when TD == 0.
The liquidation predicate HF < t is decided as the circuit decides it,
W * 1e18 + floor(TD / 2) < t * TD * 1e4, which is equivalent (see health.circom).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError
from .limits import BPS, MAX_DECIMALS, VALUE_BITS, WAD

UINT256_MAX = 2**256 - 1


@dataclass(frozen=True)
class Asset:
    """One market slot: token decimals and Aave risk parameters (bps)."""

    symbol: str
    decimals: int
    liquidation_threshold: int
    liquidation_bonus: int
    protocol_fee: int = 0  # liquidationProtocolFee: bps of the bonus taken by the treasury


@dataclass(frozen=True)
class Market:
    """Ordered assets; the order is the slot order in commitments and circuits."""

    name: str
    assets: tuple[Asset, ...]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(a.symbol for a in self.assets)


@dataclass(frozen=True)
class PricePoint:
    """An oracle answer with 8 decimals and where it came from."""

    price: int
    round_id: int
    updated_at: int


@dataclass(frozen=True)
class PriceSnapshot:
    prices: dict[str, PricePoint]


@dataclass(frozen=True)
class Position:
    """The private opening of a committed position: amounts in token base units and a salt."""

    collateral: dict[str, int]
    debt: dict[str, int]
    salt: int


@dataclass(frozen=True)
class AssetValuation:
    symbol: str
    collateral_value: int
    debt_value: int
    weighted_collateral: int


@dataclass(frozen=True)
class Health:
    """Everything the liquidation statement depends on, in exact integers."""

    valuations: tuple[AssetValuation, ...]
    weighted_collateral: int  # W, base currency (8 decimals) x bps
    total_collateral: int  # base currency, 8 decimals; assets with LT > 0 only, as Aave counts it
    total_debt: int  # base currency, 8 decimals

    @property
    def health_factor(self) -> int:
        """HF in WAD, exactly as Aave v3.5 computes it (uint256.max without debt)."""
        if self.total_debt == 0:
            return UINT256_MAX
        return ((self.weighted_collateral * WAD + self.total_debt // 2) // self.total_debt) // BPS

    def is_below(self, threshold: int) -> bool:
        """HF < threshold (WAD), in the circuit's division-free form."""
        return self.weighted_collateral * WAD + self.total_debt // 2 < threshold * self.total_debt * BPS


def _scale(decimals: int) -> int:
    return int(10**decimals)


def collateral_value(amount: int, price: int, decimals: int) -> int:
    """floor(amount * price / 10^decimals): collateral rounds down."""
    return amount * price // _scale(decimals)


def debt_value(amount: int, price: int, decimals: int) -> int:
    """ceil(amount * price / 10^decimals): debt rounds up (Aave v3.5)."""
    return -(-(amount * price) // _scale(decimals))


def evaluate(position: Position, market: Market, prices: PriceSnapshot) -> Health:
    """Value every slot and aggregate; rejects values too wide for the circuit."""
    vals: list[AssetValuation] = []
    for asset in market.assets:
        assert asset.decimals <= MAX_DECIMALS
        price = prices.prices[asset.symbol].price
        cv = collateral_value(position.collateral.get(asset.symbol, 0), price, asset.decimals)
        dv = debt_value(position.debt.get(asset.symbol, 0), price, asset.decimals)
        for kind, v in (("collateral", cv), ("debt", dv)):
            if v >= 2**VALUE_BITS:
                raise InputError(
                    f"{kind}.{asset.symbol}",
                    f"value {v} (base currency, 8 decimals) at price {price} must be < 2^{VALUE_BITS}",
                )
        vals.append(AssetValuation(asset.symbol, cv, dv, cv * asset.liquidation_threshold))
    return Health(
        valuations=tuple(vals),
        weighted_collateral=sum(v.weighted_collateral for v in vals),
        total_collateral=sum(
            v.collateral_value for v, a in zip(vals, market.assets, strict=True) if a.liquidation_threshold
        ),
        total_debt=sum(v.debt_value for v in vals),
    )


def format_wad(value: int, places: int = 18) -> str:
    """1634999999999999999 -> '1.634999999999999999'; uint256.max -> 'inf'."""
    if value == UINT256_MAX:
        return "inf"
    whole, frac = divmod(value, WAD)
    s = f"{whole}.{frac:018d}"[: len(str(whole)) + 1 + places]
    return s.rstrip("0").rstrip(".") if "." in s else s
