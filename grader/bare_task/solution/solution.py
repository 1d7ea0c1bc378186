def double(x: float) -> float:
    """Return twice `x`."""
    return 2 * x
