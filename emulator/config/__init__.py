from demonloop.config.schema import *  # noqa: F401,F403
from demonloop.config.schema import _set_dotted  # noqa: F401
