"""``python -m cronium``: the same as the ``cronium`` command."""

from cronium.cli import main

main()
