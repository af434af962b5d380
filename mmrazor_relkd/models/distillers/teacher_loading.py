"""Verified teacher weights: a teacher checkpoint that does not fit the teacher raises
before training instead of leaving a partly random teacher behind.

mmengine's ``load_checkpoint`` (and mmrazor, which calls it for ``teacher_ckpt``) loads
non-strictly: missing and shape-mismatched parameters only print a warning and keep
their random initialisation. :func:`load_teacher_checkpoint` loads strictly instead:

* a teacher tensor the checkpoint lacks, or one whose shape differs, is an error (a
  BatchNorm's ``num_batches_tracked`` excepted: old checkpoints lack it, and a frozen
  teacher in eval mode never reads it);
* a checkpoint key the teacher lacks is an error, unless ``ignore_unexpected=True``
  (a checkpoint of a larger model that contains the teacher);
* the error names the file, the counts and the first keys of each kind.

The loaded module is marked (:func:`has_teacher_weights`), so that an algorithm can
tell a teacher with weights from a random one.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Sequence, Tuple

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

#: how many keys of each kind an error message lists
SHOWN_KEYS = 5
#: mmengine's default ``revise_keys``: the prefix of a DDP-wrapped model's keys
_REVISE_KEYS = ((r'^module\.', ''), )
#: the attribute that marks a module loaded by :func:`load_teacher_checkpoint`
_LOADED_FROM = 'teacher_checkpoint'


class TeacherCheckpointMismatch(RuntimeError):
    """A teacher checkpoint that does not fit the teacher model."""


def _first(keys: Sequence[str]) -> str:
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


def _shape_mismatches(model: nn.Module, state_dict: Mapping[str, torch.Tensor]
                      ) -> List[Tuple[str, tuple, tuple]]:
    own = model.state_dict()
    return [(key, tuple(value.shape), tuple(own[key].shape))
            for key, value in state_dict.items()
            if key in own and isinstance(value, torch.Tensor)
            and value.shape != own[key].shape]


def load_teacher_checkpoint(model: nn.Module, filename: str,
                            ignore_unexpected: bool = False,
                            option: str = 'teacher_ckpt_ignore_unexpected') -> None:
    """Load ``filename`` into the teacher ``model``, strictly.

    Args:
        model: the teacher.
        filename: a checkpoint path or URL (anything mmengine's ``load_checkpoint``
            reads).
        ignore_unexpected: accept checkpoint keys the teacher does not have.
        option: the name of the user's option for ``ignore_unexpected``, for the error
            message.

    Raises:
        TeacherCheckpointMismatch: a teacher tensor is missing from the checkpoint or
            has another shape there, or (without ``ignore_unexpected``) the checkpoint
            has keys the teacher does not have. Nothing is loaded then.
    """
    state_dict = checkpoint_state_dict(filename)
    own = model.state_dict()
    mismatched = _shape_mismatches(model, state_dict)
    missing = [key for key in own if key not in state_dict
               and not key.endswith('num_batches_tracked')]
    unexpected = [key for key in state_dict if key not in own]
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing from the checkpoint ({_first(missing)})')
    if mismatched:
        shown = [f'{key}: checkpoint {ckpt} vs teacher {mine}'
                 for key, ckpt, mine in mismatched]
        problems.append(f'{len(mismatched)} with another shape ({_first(shown)})')
    if unexpected and not ignore_unexpected:
        problems.append(f'{len(unexpected)} unexpected checkpoint keys '
                        f'({_first(unexpected)})')
    if problems:
        raise TeacherCheckpointMismatch(
            f'teacher checkpoint {filename!r} does not fit the teacher '
            f'{type(model).__name__} ({len(own)} tensors): ' + '; '.join(problems) +
            '. Give the checkpoint of a model built from the teacher\'s config'
            + ('' if missing or mismatched else
               f'; if the checkpoint is of a larger model that contains the teacher '
               f'(e.g. a full detector for a backbone-only teacher), set {option}=True')
            + '.')
    if unexpected:
        kept = OrderedDict((k, v) for k, v in state_dict.items() if k in own)
        kept._metadata = state_dict._metadata
        state_dict = kept
    model.load_state_dict(state_dict, strict=False)
    setattr(model, _LOADED_FROM, filename)
    print_log(f'teacher {type(model).__name__}: loaded all {len(own)} tensors from '
              f'{filename}' + (f' ({len(unexpected)} other checkpoint keys ignored)'
                               if unexpected else ''), logger='current')


def _is_pretrained(init_cfg) -> bool:
    if isinstance(init_cfg, dict):
        return init_cfg.get('type') == 'Pretrained'
    if isinstance(init_cfg, (list, tuple)):
        return any(_is_pretrained(cfg) for cfg in init_cfg)
    return False


def has_teacher_weights(model: nn.Module) -> bool:
    """Whether ``model`` gets pretrained weights: it was loaded by
    :func:`load_teacher_checkpoint`, or it or one of its modules has a ``Pretrained``
    ``init_cfg`` (which mmengine loads in ``init_weights``)."""
    return getattr(model, _LOADED_FROM, None) is not None or any(
        _is_pretrained(getattr(module, 'init_cfg', None)) for module in model.modules())
