"""Hooks, registered into mmengine's ``HOOKS``."""
from .cka_monitor_hook import CKAMonitorHook
from .kda_landmark_hook import KDALandmarkHook

__all__ = ['CKAMonitorHook', 'KDALandmarkHook']
