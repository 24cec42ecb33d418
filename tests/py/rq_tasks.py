"""Job functions the rq worker imports (PYTHONPATH points here)."""


def add(a, b):
    return a + b


def concat(*parts):
    return "-".join(str(p) for p in parts)
