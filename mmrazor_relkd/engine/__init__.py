from . import hooks, loops, runners, schedulers  # noqa: F401
