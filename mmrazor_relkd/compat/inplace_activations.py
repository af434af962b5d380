"""Keep recorders from seeing in-place activations: mmrazor's ``inplace=False`` pass.

mmrazor's ``BaseAlgorithm`` (the student) and ``SingleTeacherDistill`` (the teacher)
call ``set_module_inplace_false`` so that, for example, a recorder on a BatchNorm layer
followed by ``ReLU(inplace=True)`` records the BatchNorm output and not the ReLU
output written over it. mmrazor 1.0.0's version descends only into children held in
an ``OrderedDict``; newer torch releases (2.14, 2.15; not 2.1) keep a module's
children in a plain ``dict``, so there it changes nothing below the top module and the
recorded tensors are silently post-activation (a recorded minimum of 0 instead of the
negative BatchNorm values).

:func:`keep_activations_out_of_place` checks mmrazor's method on a probe model (it
needs no version test) and only where it misses children replaces it with one that
sets ``inplace = False`` on every module of the model that has that attribute.
"""
import types
from typing import Callable

import torch.nn as nn


def sets_children_out_of_place(method: Callable) -> bool:
    """Whether ``method`` (mmrazor's ``set_module_inplace_false``, unbound) reaches an
    in-place activation inside a child module."""
    probe = types.SimpleNamespace(architecture=nn.Sequential(nn.ReLU(inplace=True)))
    probe.set_module_inplace_false = types.MethodType(method, probe)
    method(probe, probe.architecture, 'self.architecture')
    return probe.architecture[0].inplace is False


def set_module_inplace_false(self: nn.Module, architecture: nn.Module,
                             varstr: str) -> None:
    """Set ``inplace = False`` on every module of ``architecture`` that has it.

    The signature is mmrazor's; ``varstr`` (the attribute path mmrazor's version
    evaluates) is not needed.
    """
    for module in architecture.modules():
        if hasattr(module, 'inplace'):
            module.inplace = False


def keep_activations_out_of_place() -> bool:
    """Replace mmrazor's method where it misses children; returns True if replaced."""
    from mmrazor.models.algorithms.base import BaseAlgorithm
    if sets_children_out_of_place(BaseAlgorithm.set_module_inplace_false):
        return False
    set_module_inplace_false.__wrapped__ = BaseAlgorithm.set_module_inplace_false
    BaseAlgorithm.set_module_inplace_false = set_module_inplace_false
    return True
