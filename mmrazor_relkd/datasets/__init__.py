"""The embedded synthetic dataset (generator only: mmdet / mmpretrain datasets read it)."""
from .synthetic_shapes import CLASSES, generate_shapes_dataset

__all__ = ['CLASSES', 'generate_shapes_dataset']
