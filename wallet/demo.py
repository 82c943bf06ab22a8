"""Demo wallet data for `make run` (idempotent)."""


def seed_demo(stdout) -> None:
    pass
