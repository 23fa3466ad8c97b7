"""``python -m demonloop``: the command line (the same as the ``demonloop`` script)."""

from demonloop.cli import main

main()
