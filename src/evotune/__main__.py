"""``python -m evotune`` is the ``evotune`` command."""

from evotune.cli import main

main()
