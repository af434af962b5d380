from . import backbones, distillers, losses  # noqa: F401
