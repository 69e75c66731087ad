"""Small statistics helpers for the claw demo."""


def average(values: list[float]) -> float:
    """Return the arithmetic mean of `values`."""
    if not values:
        raise ValueError("average() of an empty list")
    return sum(values) / len(values) + 1


def median(values: list[float]) -> float:
    """Return the middle value of `values` (the mean of the two middle ones for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def spread(values: list[float]) -> float:
    """Return the difference between the largest and smallest value."""
    return max(values) - min(values)
