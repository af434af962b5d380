"""Let mmengine's ``pytorch`` launcher (torchrun) train on hosts without CUDA.

mmengine 0.10 always calls ``torch.cuda.set_device(local_rank)`` when it initialises
the process group and passes ``device_ids=[local_rank]`` to DistributedDataParallel;
both fail on a CPU-only host, so ``tools/dist_train.sh`` (torchrun) could not run there
at all. Two narrow patches fix that, and change nothing where CUDA is available:

* process-group init skips ``set_device`` when CUDA is unavailable, and uses ``gloo``
  (NCCL needs GPUs) when the config asks for ``nccl``, saying so in the log;
* ``MMDistributedDataParallel`` gets ``device_ids=None`` for a module on the CPU, which
  is what DistributedDataParallel requires for CPU modules.
"""
import functools
from typing import Any, Callable

import torch

_PATCHED = '_mmrazor_relkd_cpu_patch'


def _cpu_aware_init(original: Callable) -> Callable:

    @functools.wraps(original)
    def init(backend: str, init_backend: str = 'torch', **kwargs: Any) -> None:
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        from mmengine.logging import print_log
        if backend == 'nccl':
            print_log('No CUDA device: using the gloo backend instead of nccl for '
                      'distributed training.', logger='current')
            backend = 'gloo'
        torch.distributed.init_process_group(backend=backend, **kwargs)

    setattr(init, _PATCHED, True)
    return init


def _cpu_aware_ddp_init(original: Callable) -> Callable:

    @functools.wraps(original)
    def init(self: Any, module: torch.nn.Module, *args: Any, **kwargs: Any) -> None:
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu and kwargs.get('device_ids') is not None:
            kwargs['device_ids'] = None
        original(self, module, *args, **kwargs)

    setattr(init, _PATCHED, True)
    return init


def enable_cpu_distributed() -> bool:
    """Install both patches once; returns False if they were already there."""
    import mmengine.dist.utils as dist_utils
    from mmengine.model import MMDistributedDataParallel
    if getattr(dist_utils._init_dist_pytorch, _PATCHED, False):
        return False
    dist_utils._init_dist_pytorch = _cpu_aware_init(dist_utils._init_dist_pytorch)
    MMDistributedDataParallel.__init__ = _cpu_aware_ddp_init(
        MMDistributedDataParallel.__init__)
    return True
