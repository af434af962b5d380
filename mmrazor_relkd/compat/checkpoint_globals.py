"""Let mmengine checkpoints load under torch's ``weights_only=True`` default.

torch >= 2.6 unpickles ``torch.load`` files with a restricted unpickler unless told
otherwise, and mmengine 0.10 calls ``torch.load`` without ``weights_only``, so a
checkpoint that mmengine itself saved (``load_from``, ``--resume``, a teacher's
``teacher_ckpt``) fails to load. Instead of turning the protection off, this allow-lists
exactly the globals an mmengine checkpoint contains:

* numpy arrays, dtypes (with their numpy >= 1.25 dtype classes) and scalars (``meta``
  and the message hub's logs);
* mmengine's ``HistoryBuffer``, whose state refers to its statistics methods as
  ``getattr(HistoryBuffer, 'mean')`` and so on.

``builtins.getattr`` is not allowed as such: the name maps to
:func:`history_buffer_getattr`, which only resolves HistoryBuffer's statistics methods
and refuses everything else. Modules such as ``os`` stay blocked by torch.
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
                               (history_buffer_getattr, 'builtins.getattr')]


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
