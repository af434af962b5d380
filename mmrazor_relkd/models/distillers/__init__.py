"""Registered into the OpenMMLab registries on import."""
from .gnorp_distill import GNoRPDistill, GNoRPWeight
from .teacher_ensemble import TeacherEnsemble

__all__ = ['GNoRPDistill', 'GNoRPWeight', 'TeacherEnsemble']
