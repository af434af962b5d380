"""Compatibility shims, applied by ``import mmrazor_relkd``; each is a no-op where the
installed versions do not need it.

* :func:`disable_broken_quantization`: ``import mmrazor`` on torch >= 2;
* :func:`allow_mmengine_checkpoints`: mmengine checkpoints under ``weights_only=True``;
* :func:`enable_cpu_distributed`: mmengine's torchrun launcher on hosts without CUDA.
"""
from .checkpoint_globals import allow_mmengine_checkpoints
from .cpu_distributed import enable_cpu_distributed
from .mmrazor_quantization import QuantizationUnavailable, disable_broken_quantization


def apply_compat() -> None:
    """Apply every shim (idempotent)."""
    allow_mmengine_checkpoints()
    enable_cpu_distributed()
    disable_broken_quantization()


__all__ = ['QuantizationUnavailable', 'allow_mmengine_checkpoints', 'apply_compat',
           'disable_broken_quantization', 'enable_cpu_distributed']
