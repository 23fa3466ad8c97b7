"""The command line: :func:`main` is the ``demonloop`` script (``python -m demonloop``).

- :mod:`~demonloop.cli.main`: the group, ``run``, ``check``, ``configs``;
- :mod:`~demonloop.cli.studies`: ``sweep``, ``plot``;
- :mod:`~demonloop.cli.firmware`: ``firmware run``.

Every command imports what it runs inside its function, so ``demonloop --help`` and
``demonloop check`` start without loading simulators, Dask or matplotlib.
"""

from demonloop.cli.main import main

__all__ = ["main"]
