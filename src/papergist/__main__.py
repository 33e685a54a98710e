"""`python -m papergist` runs the CLI."""

from papergist.cli import main

main()
