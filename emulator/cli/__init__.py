from demonloop.cli.main import main  # noqa: F401
