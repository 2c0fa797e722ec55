"""``python -m tpkit`` runs the command line."""

from tpkit.cli import main

main()
