"""The built-in statements; importing this package registers them (see zkmargin.statement)."""

from . import lending, perp, pool, step

__all__ = ["lending", "perp", "pool", "step"]
