"""Verified teachers for mmrazor's distillation algorithms, so that the configs that name
them by type get them: ``SingleTeacherDistill`` and every algorithm derived from it
(mmrazor's ``FpnTeacherDistill`` and ``OverhaulFeatureDistillation``, the plugin's
``GNoRPDistill``), and ``DataFreeDistillation`` (with ``DAFLDataFreeDistillation``).

mmrazor 1.0.0:

* loads ``teacher_ckpt`` (and a data-free teacher's ``ckpt_path``) non-strictly: a
  checkpoint that does not fit leaves a partly random teacher behind, with only warnings
  in the log; so does a ``Pretrained`` ``init_cfg`` (mmengine's);
* trains against a random or partly random teacher when no checkpoint covers it, e.g.
  a detector whose backbone alone has a ``Pretrained`` ``init_cfg`` (how mmdet configs
  start from ImageNet weights) and no ``teacher_ckpt``, or a data-free teacher without
  ``ckpt_path`` (``DataFreeDistillation`` keeps its teachers in a torch ``ModuleDict``,
  which mmengine's ``init_weights`` does not enter: even their ``Pretrained``
  ``init_cfg`` is never applied);
* builds ``SingleTeacherDistill``'s distiller and teacher (and initialises the teacher)
  with the global random numbers, after the student is built and before the student's
  ``init_weights``: the student starts from other values than it does alone with the
  same seed.

:func:`verify_distillation_teachers` patches the classes (once) so that:

* ``teacher_ckpt`` is loaded by :func:`load_teacher_checkpoint` (strict; extra keys
  only with the new key ``teacher_ckpt_ignore_unexpected=True``), and so is a data-free
  teacher's ``ckpt_path``;
* ``init_weights`` (which the runner calls before training) records every tensor a
  checkpoint load writes into a teacher (``Pretrained`` ``init_cfg``\\ s included) and
  then raises, naming the modules without weights, unless every tensor of every teacher
  (each member of a :class:`TeacherEnsemble`, each data-free teacher, separately) came
  from a checkpoint, or the new key ``allow_random_teacher=True`` says a random teacher
  is intended (smoke tests, benchmarks);
* ``SingleTeacherDistill`` builds and initialises everything but the student under
  :func:`preserved_global_rng`: the student's construction, ``init_weights`` and
  training see the same random numbers as the student trained alone.

The patched ``SingleTeacherDistill.__init__`` takes mmrazor's whole signature (its
arguments bound with ``inspect.signature``, positional ones too, as
``OverhaulFeatureDistillation`` passes them) plus the two new keys.
"""
import functools
import inspect
from contextlib import ExitStack
from typing import Any, Callable, Dict, List, Tuple

from torch import nn

# mmrazor_relkd.models imports mmrazor: imported where used, after the quantization
# stand-in is in place (see compat/__init__.py)

_PATCHED = '_relkd_verified_teacher'
#: an algorithm's teachers whose weights are checked one by one, by name
Parts = Dict[str, nn.Module]


def single_teacher_parts(algorithm: nn.Module) -> Parts:
    """The teachers of a ``SingleTeacherDistill`` whose weights are checked one by one:
    ``'teacher'``, or a :class:`TeacherEnsemble`'s members ``'teacher.teachers.<i>'``."""
    from mmrazor_relkd.models.distillers.teacher_ensemble import TeacherEnsemble
    teacher = algorithm.teacher
    if isinstance(teacher, TeacherEnsemble):
        return {f'teacher.teachers.{index}': member
                for index, member in enumerate(teacher.teachers)}
    return {'teacher': teacher}


def data_free_parts(algorithm: nn.Module) -> Parts:
    """The teachers of a ``DataFreeDistillation``: ``'teachers.<name>'``."""
    return {f'teachers.{name}': teacher for name, teacher in algorithm.teachers.items()}


def single_teacher_sources(parts: Parts) -> Tuple[str, str]:
    """Where a ``SingleTeacherDistill``'s teacher ``parts`` get weights from, and how to
    give them."""
    if any(name.startswith('teacher.teachers.') for name in parts):
        return ('`teacher_ckpt`, the ensemble\'s `checkpoints` or a Pretrained init_cfg',
                'the teacher\'s checkpoint (model.teacher_ckpt=..., or one per member in '
                'model.teacher.checkpoints=[...])')
    return ('`teacher_ckpt` or a Pretrained init_cfg',
            'the teacher\'s checkpoint (model.teacher_ckpt=...)')


def data_free_sources(parts: Parts) -> Tuple[str, str]:
    """Where a ``DataFreeDistillation``'s teachers get weights from, and how to give
    them."""
    return ('a teacher\'s `ckpt_path` or a Pretrained init_cfg',
            'each teacher\'s checkpoint (model.teachers.<name>.ckpt_path=...)')


def missing_weights_message(algorithm: str, sources: Tuple[str, str], without: List[str],
                            mismatched: List[str]) -> str:
    """The error of ``algorithm`` for teacher modules ``without`` weights (``sources``:
    where weights come from and how to give them; ``mismatched``: the tensors a
    checkpoint held with another shape)."""
    from mmrazor_relkd.models.distillers.teacher_loading import SHOWN_KEYS, first_keys
    where, fix = sources
    names = (', '.join(without) if len(without) <= SHOWN_KEYS
             else f'{len(without)} modules and tensors ({first_keys(without)})')
    shapes = (f' ({len(mismatched)} tensors had another shape in the checkpoint: '
              f'{first_keys(mismatched)})' if mismatched else '')
    return (f'{algorithm}: no weights for {names}: no checkpoint ({where}) loaded '
            f'them{shapes}; distilling from a random or partly random teacher is almost '
            f'always a mistake. Give {fix}, or set model.allow_random_teacher=True if a '
            'random teacher is intended.')


def _checking_teacher_weights(init_weights: Callable,
                              teacher_parts: Callable[[nn.Module], Parts],
                              sources: Callable[[Parts], Tuple[str, str]]) -> Callable:
    """``init_weights`` that records the checkpoint loads into each teacher part and
    then raises unless every part's tensors were all loaded (or a random teacher is
    allowed)."""
    from mmrazor_relkd.models.distillers.teacher_loading import (mark_loaded,
                                                                 modules_without_weights,
                                                                 recording_loads)

    @functools.wraps(init_weights)
    def checked_init_weights(self) -> None:
        parts = teacher_parts(self)
        with ExitStack() as stack:
            records = {name: stack.enter_context(recording_loads(part))
                       for name, part in parts.items()}
            init_weights(self)
        for name, part in parts.items():
            mark_loaded(part, records[name].loaded)
        if self.allow_random_teacher:
            return
        without = [module for name in parts
                   for module in modules_without_weights(self, name)]
        if without:
            mismatched = [f'{name}.{key}: checkpoint {ckpt} vs teacher {mine}'
                          for name, record in records.items()
                          for key, (ckpt, mine) in record.mismatched.items()
                          if key not in record.loaded]
            raise RuntimeError(missing_weights_message(
                type(self).__name__, sources(parts), without, mismatched))

    return checked_init_weights


def _verify_single_teacher(cls: type) -> None:
    """Patch ``SingleTeacherDistill`` (``cls``)."""
    from mmrazor.registry import MODELS

    from mmrazor_relkd.models.distillers.rng_isolation import preserved_global_rng
    from mmrazor_relkd.models.distillers.teacher_loading import load_teacher_checkpoint
    original_init = cls.__init__
    original_init_weights = cls.init_weights
    signature = inspect.signature(original_init)
    extra = next(name for name, parameter in signature.parameters.items()
                 if parameter.kind is parameter.VAR_KEYWORD)

    @functools.wraps(original_init)
    def __init__(self, *args: Any, teacher_ckpt_ignore_unexpected: bool = False,
                 allow_random_teacher: bool = False, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        teacher_ckpt = bound.arguments.get('teacher_ckpt')
        bound.arguments['teacher_ckpt'] = None  # loaded strictly below instead
        others = bound.arguments.get(extra, {})
        if isinstance(others.get('architecture'), dict):
            # the student first, with the global random numbers, exactly as alone
            others['architecture'] = MODELS.build(others['architecture'])
        with preserved_global_rng():
            original_init(*bound.args, **bound.kwargs)
            if teacher_ckpt:
                load_teacher_checkpoint(self.teacher, teacher_ckpt,
                                        teacher_ckpt_ignore_unexpected)
                self.teacher._is_init = True  # as mmrazor: init_weights keeps it
        self.allow_random_teacher = allow_random_teacher

    def init_weights(self) -> None:
        student = self.architecture
        if hasattr(student, 'init_weights') and not getattr(student, 'is_init', False):
            student.init_weights()  # with the global random numbers, as alone
        with preserved_global_rng():
            original_init_weights(self)

    cls.__init__ = __init__
    cls.init_weights = _checking_teacher_weights(init_weights, single_teacher_parts,
                                                 single_teacher_sources)


def load_data_free_teacher(model: nn.Module, filename: str, *args: Any,
                           **kwargs: Any) -> None:
    """Stands in for mmengine's ``load_checkpoint`` where ``DataFreeDistillation``
    loads a teacher's ``ckpt_path`` (``load_checkpoint(teacher, ckpt_path)``): strictly,
    with :func:`load_teacher_checkpoint`."""
    if args or kwargs:
        raise TypeError(
            f'mmrazor\'s DataFreeDistillation now loads its teachers with other '
            f'arguments ({args}, {kwargs}) than mmrazor_relkd expects '
            f'(load_checkpoint(teacher, ckpt_path)); update mmrazor_relkd.compat.'
            f'teacher_distill for this mmrazor version')
    from mmrazor_relkd.models.distillers.teacher_loading import load_teacher_checkpoint
    load_teacher_checkpoint(model, filename, option=None)


def _verify_data_free(cls: type) -> None:
    """Patch ``DataFreeDistillation`` (``cls``; ``DAFLDataFreeDistillation`` inherits
    it)."""
    module = inspect.getmodule(cls)
    module.load_checkpoint = load_data_free_teacher
    original_init = cls.__init__

    @functools.wraps(original_init)
    def __init__(self, *args: Any, allow_random_teacher: bool = False,
                 **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.allow_random_teacher = allow_random_teacher

    cls.__init__ = __init__
    cls.init_weights = _checking_teacher_weights(cls.init_weights, data_free_parts,
                                                 data_free_sources)


def verify_distillation_teachers() -> None:
    """Patch mmrazor's ``SingleTeacherDistill`` and ``DataFreeDistillation`` as the
    module docstring says (idempotent)."""
    from mmrazor.models.algorithms import DataFreeDistillation, SingleTeacherDistill
    for cls, verify in ((SingleTeacherDistill, _verify_single_teacher),
                        (DataFreeDistillation, _verify_data_free)):
        if not cls.__dict__.get(_PATCHED, False):
            verify(cls)
            setattr(cls, _PATCHED, True)
