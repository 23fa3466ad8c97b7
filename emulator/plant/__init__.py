from demonloop.plant.plant import Controls, Plant  # noqa: F401
