from . import hooks, runners, schedulers  # noqa: F401
