"""``python -m dembias`` runs the command line."""

from dembias.cli import main

main()
