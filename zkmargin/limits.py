"""Bit widths and bounds the circuits enforce, mirrored for validation in Python.

Keep in sync with the functions at the top of circuits/lib/position.circom;
tests/test_limits.py parses that file and fails if the two drift apart.
"""

from __future__ import annotations

from typing import Final

AMOUNT_BITS: Final = 128      # token amounts in base units (Aave stores uint128)
PRICE_BITS: Final = 64        # 8-decimal oracle prices
VALUE_BITS: Final = 128       # per-asset value in 8-decimal base currency
MAX_DECIMALS: Final = 18      # token decimals, so 10^decimals < 2^60
LT_BITS: Final = 14
BPS: Final = 10_000           # 100.00 % in basis points
THRESHOLD_BITS: Final = 64    # health-factor threshold in WAD
WAD: Final = 1_000_000_000_000_000_000
PRICE_DECIMALS: Final = 8     # base currency decimals (Aave v3, Chainlink USD feeds)
MAX_ASSETS: Final = 16        # circomlib Poseidon takes at most 16 inputs per call
