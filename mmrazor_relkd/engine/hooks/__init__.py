"""Hooks, registered into mmengine's ``HOOKS``."""
from .check_invalid_grad_hook import CheckInvalidGradHook
from .cka_monitor_hook import CKAMonitorHook
from .kda_landmark_hook import KDALandmarkHook

__all__ = ['CheckInvalidGradHook', 'CKAMonitorHook', 'KDALandmarkHook']
