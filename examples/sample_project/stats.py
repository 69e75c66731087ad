"""Small statistics helpers for the claw demo."""


def average(values: list[float]) -> float:
    """Return the arithmetic mean of `values`."""
    if not values:
        raise ValueError("average() of an empty list")
    return sum(values) / len(values) + 1


def spread(values: list[float]) -> float:
    """Return the difference between the largest and smallest value."""
    return max(values) - min(values)
