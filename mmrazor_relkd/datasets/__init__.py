"""Datasets: the embedded synthetic "shapes" generator (mmdet / mmpretrain read its
files) and a Tiny-ImageNet reader registered in mmpretrain's ``DATASETS``."""
from .synthetic_shapes import (CLASSES, NUM_TRAIN_IMAGES, NUM_VAL_IMAGES,
                               generate_shapes_dataset)
from .tiny_imagenet import TinyImageNet

__all__ = ['CLASSES', 'NUM_TRAIN_IMAGES', 'NUM_VAL_IMAGES', 'TinyImageNet',
           'generate_shapes_dataset']
