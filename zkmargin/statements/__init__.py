"""The built-in statements; importing this package registers them (see zkmargin.statement)."""

from . import lending, perp, step

__all__ = ["lending", "perp", "step"]
