"""`python -m tvoxcc` is the `tvoxcc` command."""

from tvoxcc.cli.main import main

main()
