"""Let mmengine checkpoints load under torch's ``weights_only=True`` default, where
mmengine loads them and nowhere else.

torch >= 2.6 unpickles ``torch.load`` files with a restricted unpickler unless told
otherwise, and mmengine 0.10 calls ``torch.load`` without ``weights_only``, so a
checkpoint that mmengine itself saved (``load_from``, ``--resume``, a teacher's
``teacher_ckpt``, a ``Pretrained`` ``init_cfg``) fails to load. Instead of turning the
protection off, this allow-lists exactly the globals an mmengine checkpoint contains,
and only while mmengine's ``CheckpointLoader.load_checkpoint`` runs, the one entry
through which mmengine loads every checkpoint (any path or URL scheme); any other
``torch.load`` in the process keeps torch's own allow-list. The globals:

* numpy arrays, dtypes (with their numpy >= 1.25 dtype classes) and scalars (``meta``
  and the message hub's logs);
* mmengine's ``HistoryBuffer``, whose state refers to its statistics methods as
  ``getattr(HistoryBuffer, 'mean')`` and so on;
* ``OneCycleParamScheduler``'s annealing function: the scheduler's state keeps it
  (``anneal_func``, a static method), which pickle protocol 2 (torch's default) writes
  as ``getattr(OneCycleParamScheduler, '_annealing_cos')`` (or ``'_annealing_linear'``);
* ``bytes()``: pickle protocol 2 writes an empty ``bytes`` object as that call, and the
  raw data of an empty numpy array (a ``HistoryBuffer`` that was never updated) is one.
  Non-empty bytes go through ``_codecs.encode``, which torch allows.

Neither ``builtins.getattr`` nor ``builtins.bytes`` is allowed as such: the names map
to :func:`checkpoint_getattr`, which only resolves the attributes above, and
:func:`empty_bytes`, which only builds ``b''`` (``bytes(10**12)`` would not be
harmless). The name ``OneCycleParamScheduler`` maps to a stand-in that nothing but
:func:`checkpoint_getattr` accepts, so a file cannot build a scheduler. Modules such as
``os`` stay blocked by torch.
"""
import functools
import pickle
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, NoReturn, Tuple, Union

import torch

SafeGlobal = Union[Callable, Tuple[Callable, str]]
_STATISTICS = ('min', 'max', 'current', 'mean')
_ANNEALING = ('_annealing_cos', '_annealing_linear')
_ONE_CYCLE = 'mmengine.optim.scheduler.param_scheduler.OneCycleParamScheduler'
_PATCHED = '_mmrazor_relkd_allows_mmengine_globals'


class OneCycleParamSchedulerName:
    """What the name ``OneCycleParamScheduler`` means in a checkpoint: only the owner of
    the annealing functions :func:`checkpoint_getattr` resolves; building it raises."""

    def __new__(cls, *args: Any, **kwargs: Any) -> NoReturn:
        raise pickle.UnpicklingError(
            'weights_only load refused building a OneCycleParamScheduler: '
            'mmrazor_relkd only allows getattr(OneCycleParamScheduler, <annealing '
            'function>) in checkpoints. If you trust this file, load it with '
            'torch.load(..., weights_only=False).')


def _readable_attributes() -> List[Tuple[Any, Any, Tuple[str, ...]]]:
    """``(what the checkpoint names, the real owner, its attributes it may read)``."""
    from mmengine.logging import HistoryBuffer
    from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler
    statistics = tuple(sorted(set(_STATISTICS) | set(HistoryBuffer._statistics_methods)))
    return [(HistoryBuffer, HistoryBuffer, statistics),
            (OneCycleParamSchedulerName, OneCycleParamScheduler, _ANNEALING)]


def checkpoint_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods and
    ``OneCycleParamScheduler``'s annealing functions."""
    for named, owner, attributes in _readable_attributes():
        if obj is named and name in attributes:
            return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'weights_only load refused getattr({obj!r}, {name!r}): mmrazor_relkd only '
        'allows getattr(HistoryBuffer, <statistics method>) and '
        'getattr(OneCycleParamScheduler, <annealing function>) in checkpoints. If you '
        'trust this file, load it with torch.load(..., weights_only=False).')


def empty_bytes(*args: Any) -> bytes:
    """``bytes`` restricted to the argument-less call that pickle protocol 2 writes."""
    if args:
        raise pickle.UnpicklingError(
            f'weights_only load refused bytes{args!r}: mmrazor_relkd only allows '
            'bytes() (an empty bytes object) in checkpoints. If you trust this file, '
            'load it with torch.load(..., weights_only=False).')
    return b''


def _numpy_globals() -> List[SafeGlobal]:
    import numpy as np
    dtype_classes = {type(np.dtype(code)) for code in np.typecodes['All']}
    safe: List[SafeGlobal] = [np.ndarray, np.dtype, *sorted(dtype_classes, key=str)]
    for module_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            module = __import__(module_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        safe += [(module._reconstruct, f'{module_name}._reconstruct'),
                 (module.scalar, f'{module_name}.scalar')]
    return safe


def needs_allowlist(torch_version: str = torch.__version__) -> bool:
    """Whether ``torch.load`` defaults to ``weights_only=True`` (torch >= 2.6)."""
    from mmengine.utils import digit_version
    return digit_version(torch_version) >= digit_version('2.6.0')


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """The globals an mmengine 0.10 checkpoint needs, as ``add_safe_globals`` takes them."""
    from mmengine.logging import HistoryBuffer
    return _numpy_globals() + [HistoryBuffer,
                               (OneCycleParamSchedulerName, _ONE_CYCLE),
                               (checkpoint_getattr, 'builtins.getattr'),
                               (empty_bytes, 'builtins.bytes')]


@contextmanager
def mmengine_checkpoints_allowed() -> Iterator[None]:
    """Allow :func:`mmengine_checkpoint_globals` in ``weights_only`` loads while active
    (a no-op before torch 2.6); globals allowed before stay allowed after."""
    if not needs_allowlist():
        yield
        return
    allowed = set(torch.serialization.get_safe_globals())
    new = [g for g in mmengine_checkpoint_globals() if g not in allowed]
    with torch.serialization.safe_globals(new):
        yield


def allow_mmengine_checkpoints() -> bool:
    """Run mmengine's ``CheckpointLoader.load_checkpoint`` under
    :func:`mmengine_checkpoints_allowed`, where torch needs it (once).

    Returns:
        True if it was wrapped now, False if not needed or already done.
    """
    from mmengine.runner import CheckpointLoader
    if not needs_allowlist() or getattr(CheckpointLoader.load_checkpoint, _PATCHED,
                                        False):
        return False
    load_checkpoint = CheckpointLoader.load_checkpoint.__func__

    @functools.wraps(load_checkpoint)
    def allowing_load_checkpoint(cls, *args: Any, **kwargs: Any) -> Any:
        with mmengine_checkpoints_allowed():
            return load_checkpoint(cls, *args, **kwargs)

    setattr(allowing_load_checkpoint, _PATCHED, True)
    CheckpointLoader.load_checkpoint = classmethod(allowing_load_checkpoint)
    return True
