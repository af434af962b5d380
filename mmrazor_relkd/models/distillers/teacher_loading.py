"""Verified teacher weights: a teacher checkpoint that does not fit the teacher raises
before training, and an algorithm can tell which of its teacher's tensors no checkpoint
has supplied.

mmengine's ``load_checkpoint`` (which mmrazor calls for ``teacher_ckpt``) and its
``Pretrained`` ``init_cfg`` load non-strictly: missing and shape-mismatched parameters
only print a warning and keep their random initialisation.

* :func:`load_teacher_checkpoint` loads strictly: it loads through the model's
  ``load_state_dict`` (so that ``_load_from_state_dict`` hooks run: mmpretrain's
  position-embedding resizing, mmdet's loading of an RPN's ``rpn_head`` as a
  single-stage detector's ``bbox_head``) and then refuses a teacher tensor the
  checkpoint lacks or holds with another shape (a BatchNorm's ``num_batches_tracked``
  excepted: old checkpoints lack it, and a frozen teacher in eval mode never reads it)
  and, unless ``ignore_unexpected=True``, a checkpoint key the teacher lacks. The
  error names the file, the counts and the first keys of each kind, and the teacher is
  left as it was.
* :func:`recording_loads` notes every tensor that any state-dict load (a ``Pretrained``
  ``init_cfg`` with or without ``prefix``, ``load_checkpoint``, ``load_state_dict``)
  writes into a model while it is active; :func:`modules_without_weights` names the
  parts of a model that no load has reached.
"""
import itertools
import re
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

#: how many keys of each kind an error message lists
SHOWN_KEYS = 5
#: mmengine's default ``revise_keys``: the prefix of a DDP-wrapped model's keys
_REVISE_KEYS = ((r'^module\.', ''), )
#: the attribute in which a module keeps the names of its tensors a checkpoint supplied
_LOADED = '_relkd_loaded_tensors'

Shapes = Tuple[Tuple[int, ...], Tuple[int, ...]]


class TeacherCheckpointMismatch(RuntimeError):
    """A teacher checkpoint that does not fit the teacher model."""


def first_keys(keys: Sequence[str]) -> str:
    """The first :data:`SHOWN_KEYS` of ``keys``, comma-separated (``...`` if more)."""
    shown = ', '.join(keys[:SHOWN_KEYS])
    return shown + (', ...' if len(keys) > SHOWN_KEYS else '')


def checkpoint_state_dict(filename: str) -> Dict[str, torch.Tensor]:
    """The state dict of a checkpoint file or URL, read as mmengine reads it (the
    ``state_dict`` entry when there is one, ``module.`` prefixes removed)."""
    checkpoint = _load_checkpoint(filename, map_location='cpu')
    if not isinstance(checkpoint, Mapping):
        raise TeacherCheckpointMismatch(
            f'teacher checkpoint {filename!r} holds a {type(checkpoint).__name__}, not '
            f'a state dict')
    state_dict = checkpoint.get('state_dict', checkpoint)
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, replacement in _REVISE_KEYS:
        state_dict = OrderedDict(
            (re.sub(pattern, replacement, key), value) for key, value in state_dict.items())
    state_dict._metadata = metadata
    return state_dict


def _checked_tensors(module: nn.Module) -> Iterator[Tuple[str, torch.Tensor]]:
    """The module's own parameters and persistent buffers, as its state dict has them."""
    buffers = ((name, buffer) for name, buffer in module._buffers.items()
               if name not in module._non_persistent_buffers_set)
    return ((name, tensor) for name, tensor in itertools.chain(
        module._parameters.items(), buffers) if tensor is not None)


def _fits(value: torch.Tensor, tensor: torch.Tensor) -> bool:
    """Whether torch's ``_load_from_state_dict`` copies ``value`` into ``tensor``
    (a 1-element 1-d value fits a 0-d tensor, as there)."""
    if torch.nn.parameter.is_lazy(tensor) or value.shape == tensor.shape:
        return True
    return tensor.dim() == 0 and tuple(value.shape) == (1, )


def state_keys(model: nn.Module) -> List[str]:
    """The keys of ``model``'s state dict that a teacher checkpoint must supply (all but
    BatchNorm's ``num_batches_tracked``)."""
    return [key for key in model.state_dict() if not key.endswith('num_batches_tracked')]


@dataclass
class LoadRecord:
    """What the loads seen by :func:`recording_loads` wrote into a model.

    Attributes:
        loaded: the model's state keys a load supplied with a fitting shape.
        mismatched: the model's state keys a load supplied with another shape (then not
            copied), with ``(checkpoint shape, model shape)``.
    """
    loaded: Set[str] = field(default_factory=set)
    mismatched: Dict[str, Shapes] = field(default_factory=dict)

    def observe(self, name: str, module: nn.Module, state_dict: Mapping,
                prefix: str, *_) -> None:
        """A load-state-dict pre-hook for ``module`` (called ``name`` in the model):
        runs after the module's own hooks and ``_load_from_state_dict`` overrides have
        renamed or resized the checkpoint's entries, so it sees what is copied."""
        for local, tensor in _checked_tensors(module):
            value = state_dict.get(prefix + local)
            if not torch.overrides.is_tensor_like(value):
                continue
            key = f'{name}.{local}' if name else local
            if _fits(value, tensor):
                self.loaded.add(key)
                self.mismatched.pop(key, None)
            else:
                self.mismatched[key] = (tuple(value.shape), tuple(tensor.shape))


@contextmanager
def recording_loads(model: nn.Module) -> Iterator[LoadRecord]:
    """Record, while active, every tensor a state-dict load writes into ``model`` or
    any of its modules (whoever loads: torch's or mmengine's ``load_state_dict``,
    mmengine's ``load_checkpoint``, a ``Pretrained`` ``init_cfg``)."""
    record = LoadRecord()
    handles = [module._register_load_state_dict_pre_hook(
        lambda *args, name=name: record.observe(name, *args), with_module=True)
        for name, module in model.named_modules()]
    try:
        yield record
    finally:
        for handle in handles:
            handle.remove()


def mark_loaded(model: nn.Module, keys: Set[str]) -> None:
    """Note that a checkpoint supplied ``model``'s state ``keys``."""
    model.__dict__.setdefault(_LOADED, set()).update(keys)


def loaded_tensors(model: nn.Module) -> Set[str]:
    """The state keys of ``model`` that a checkpoint has supplied, as noted by
    :func:`load_teacher_checkpoint` and :func:`recording_loads` on it or its modules."""
    return {f'{name}.{key}' if name else key
            for name, module in model.named_modules()
            for key in module.__dict__.get(_LOADED, ())}


def modules_without_weights(model: nn.Module, part: str) -> List[str]:
    """The pieces of ``model``'s module ``part`` (its name in ``model``) that no
    checkpoint has supplied, named as in ``model`` and as few as possible: the largest
    modules none of whose tensors were loaded, then single tensors of modules that were
    loaded in part. Empty when every tensor of :func:`state_keys` was loaded. Loads noted
    on ``model`` or any of its modules count (a checkpoint of a whole ensemble covers
    its members)."""
    prefix = f'{part}.'
    loaded = {key[len(prefix):] for key in loaded_tensors(model)
              if key.startswith(prefix)}
    module = model.get_submodule(part)
    keys = state_keys(module)
    key_set = set(keys)
    if key_set <= loaded:
        return []
    pieces: List[str] = []

    def visit(module: nn.Module, prefix: str) -> None:
        own = [key for key in keys if key.startswith(prefix)]
        if not own or all(key not in loaded for key in own):
            if own:
                pieces.append(prefix.rstrip('.'))
            return
        for local, _ in _checked_tensors(module):
            if prefix + local in key_set and prefix + local not in loaded:
                pieces.append(prefix + local)
        for child_name, child in module.named_children():
            visit(child, f'{prefix}{child_name}.')

    visit(module, '')
    return [f'{part}.{piece}' if piece else part for piece in pieces]


def _restore(model: nn.Module, saved: Mapping[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for key, tensor in model.state_dict(keep_vars=True).items():
            tensor.copy_(saved[key])


def load_teacher_checkpoint(model: nn.Module, filename: str,
                            ignore_unexpected: bool = False,
                            option: Optional[str] = 'teacher_ckpt_ignore_unexpected'
                            ) -> None:
    """Load ``filename`` into the teacher ``model``, strictly.

    Args:
        model: the teacher.
        filename: a checkpoint path or URL (anything mmengine's ``load_checkpoint``
            reads).
        ignore_unexpected: accept checkpoint keys the teacher does not have.
        option: the name of the user's option for ``ignore_unexpected``, for the error
            message (``None``: the algorithm has none).

    Raises:
        TeacherCheckpointMismatch: after the model's own loading hooks, a teacher tensor
            is missing from the checkpoint or has another shape there, or (without
            ``ignore_unexpected``) the checkpoint has keys the teacher does not have.
            The teacher keeps the values it had then.
    """
    state_dict = checkpoint_state_dict(filename)
    saved = {key: value.detach().clone() for key, value in model.state_dict().items()}
    unexpected: List[str] = []
    post_hook = model.register_load_state_dict_post_hook(
        lambda module, incompatible: unexpected.extend(incompatible.unexpected_keys))
    try:
        with recording_loads(model) as record:
            try:
                model.load_state_dict(state_dict, strict=False)
            except RuntimeError:
                if not record.mismatched:
                    _restore(model, saved)
                    raise
    finally:
        post_hook.remove()
    keys = state_keys(model)
    missing = [key for key in keys if key not in record.loaded
               and key not in record.mismatched]
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing from the checkpoint '
                        f'({first_keys(missing)})')
    if record.mismatched:
        shown = [f'{key}: checkpoint {ckpt} vs teacher {mine}'
                 for key, (ckpt, mine) in record.mismatched.items()]
        problems.append(f'{len(shown)} with another shape ({first_keys(shown)})')
    if unexpected and not ignore_unexpected:
        problems.append(f'{len(unexpected)} unexpected checkpoint keys '
                        f'({first_keys(unexpected)})')
    if problems:
        _restore(model, saved)
        hint = ''
        if not (missing or record.mismatched):
            hint = ('; if the checkpoint is of a larger model that contains the teacher '
                    '(e.g. a full detector for a backbone-only teacher), ' +
                    (f'set {option}=True' if option else
                     'save the teacher\'s part of it as a checkpoint of its own'))
        raise TeacherCheckpointMismatch(
            f'teacher checkpoint {filename!r} does not fit the teacher '
            f'{type(model).__name__} ({len(saved)} tensors): ' + '; '.join(problems) +
            '. Give the checkpoint of a model built from the teacher\'s config' + hint +
            '.')
    mark_loaded(model, set(keys))
    print_log(f'teacher {type(model).__name__}: loaded all {len(saved)} tensors from '
              f'{filename}' + (f' ({len(unexpected)} other checkpoint keys ignored)'
                               if unexpected else ''), logger='current')
