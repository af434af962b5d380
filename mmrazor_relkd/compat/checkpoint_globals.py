"""Let mmengine checkpoints load under torch's ``weights_only=True`` default.

torch >= 2.6 unpickles ``torch.load`` files with a restricted unpickler unless told
otherwise, and mmengine 0.10 calls ``torch.load`` without ``weights_only``, so a
checkpoint that mmengine itself saved (``load_from``, ``--resume``, a teacher's
``teacher_ckpt``) fails to load. Instead of turning the protection off, this allow-lists
exactly the globals an mmengine checkpoint contains:

* numpy arrays, dtypes (with their numpy >= 1.25 dtype classes) and scalars (``meta``
  and the message hub's logs);
* mmengine's ``HistoryBuffer``, whose state refers to its statistics methods as
  ``getattr(HistoryBuffer, 'mean')`` and so on;
* ``bytes()``: pickle protocol 2 (torch's default) writes an empty ``bytes`` object as
  that call, and the raw data of an empty numpy array (a ``HistoryBuffer`` that was
  never updated) is one. Non-empty bytes go through ``_codecs.encode``, which torch
  allows.

Neither ``builtins.getattr`` nor ``builtins.bytes`` is allowed as such: the names map
to :func:`history_buffer_getattr`, which only resolves HistoryBuffer's statistics
methods, and :func:`empty_bytes`, which only builds ``b''`` (``bytes(10**12)`` would
not be harmless). Modules such as ``os`` stay blocked by torch.
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import torch

SafeGlobal = Union[Callable, Tuple[Callable, str]]
_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods."""
    from mmengine.logging import HistoryBuffer
    allowed = set(_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'weights_only load refused getattr({obj!r}, {name!r}): mmrazor_relkd only '
        'allows getattr(HistoryBuffer, <statistics method>) in checkpoints. If you trust '
        'this file, load it with torch.load(..., weights_only=False).')


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
                               (history_buffer_getattr, 'builtins.getattr'),
                               (empty_bytes, 'builtins.bytes')]


def allow_mmengine_checkpoints() -> bool:
    """Register :func:`mmengine_checkpoint_globals` where torch needs them.

    Returns:
        True if they were registered now, False if not needed or already there.
    """
    if not needs_allowlist():
        return False
    current = set(torch.serialization.get_safe_globals())
    new = [g for g in mmengine_checkpoint_globals() if g not in current]
    if not new:
        return False
    torch.serialization.add_safe_globals(new)
    return True
