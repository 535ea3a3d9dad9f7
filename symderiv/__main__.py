"""``python -m symderiv``: the same as the ``symderiv`` command."""

from symderiv.cli import run

if __name__ == "__main__":
    run()
