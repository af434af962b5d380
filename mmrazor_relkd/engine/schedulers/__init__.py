"""Parameter schedulers, registered into mmengine's ``PARAM_SCHEDULERS``."""
from .alrs import ALRSLR, ALRSParamScheduler

__all__ = ['ALRSLR', 'ALRSParamScheduler']
