"""``python -m payhelp`` runs the CLI."""

from payhelp.cli import main

main()
