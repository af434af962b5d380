"""A verified, frozen-by-default teacher for mmrazor's ``SingleTeacherDistill`` and every
algorithm derived from it (mmrazor's ``FpnTeacherDistill``, the plugin's
``GNoRPDistill``), so that the configs that name them by type get it.

mmrazor 1.0.0's ``SingleTeacherDistill``:

* loads ``teacher_ckpt`` non-strictly: a checkpoint that does not fit leaves a partly
  random teacher behind, with only warnings in the log;
* trains against a random teacher when there are no teacher weights at all;
* builds the distiller and the teacher (and initialises the teacher) with the global
  random numbers, after the student is built and before the student's
  ``init_weights``: the student starts from other values than it does alone with the
  same seed.

:func:`verify_distillation_teachers` patches the class (once) so that:

* ``teacher_ckpt`` is loaded by :func:`load_teacher_checkpoint` (strict; extra keys
  only with the new key ``teacher_ckpt_ignore_unexpected=True``);
* ``init_weights`` (which the runner calls before training) raises when the teacher
  (or a member of a :class:`TeacherEnsemble`) gets no weights from ``teacher_ckpt``,
  the ensemble's ``checkpoints`` or a ``Pretrained`` ``init_cfg``, unless the new key
  ``allow_random_teacher=True`` says this is intended (smoke tests, benchmarks);
* everything but the student is built and initialised under
  :func:`preserved_global_rng`: the student's construction, ``init_weights`` and
  training see the same random numbers as the student trained alone.
"""
from typing import Any, List

from torch import nn

_PATCHED = '_relkd_verified_teacher'


def teachers_without_weights(teacher: nn.Module) -> List[str]:
    """The parts of ``teacher`` that get no pretrained weights: ``'teacher'`` itself,
    or the members (``'teacher.teachers.<i>'``) of a :class:`TeacherEnsemble`."""
    from mmrazor_relkd.models.distillers.teacher_ensemble import TeacherEnsemble
    from mmrazor_relkd.models.distillers.teacher_loading import has_teacher_weights
    if has_teacher_weights(teacher):
        return []
    if isinstance(teacher, TeacherEnsemble):
        return [f'teacher.teachers.{index}' for index, member in enumerate(teacher.teachers)
                if not has_teacher_weights(member)]
    return ['teacher']


def verify_distillation_teachers() -> None:
    """Patch mmrazor's ``SingleTeacherDistill`` as the module docstring says
    (idempotent)."""
    from mmrazor.models.algorithms import SingleTeacherDistill
    from mmrazor.registry import MODELS

    from mmrazor_relkd.models.distillers.rng_isolation import preserved_global_rng
    from mmrazor_relkd.models.distillers.teacher_loading import load_teacher_checkpoint
    if getattr(SingleTeacherDistill, _PATCHED, False):
        return
    original_init = SingleTeacherDistill.__init__
    original_init_weights = SingleTeacherDistill.init_weights

    def __init__(self, *args: Any, teacher_ckpt: str = None,
                 teacher_ckpt_ignore_unexpected: bool = False,
                 allow_random_teacher: bool = False, **kwargs: Any) -> None:
        if isinstance(kwargs.get('architecture'), dict):
            # the student first, with the global random numbers, exactly as alone
            kwargs['architecture'] = MODELS.build(kwargs['architecture'])
        with preserved_global_rng():
            original_init(self, *args, teacher_ckpt=None, **kwargs)
            if teacher_ckpt:
                load_teacher_checkpoint(self.teacher, teacher_ckpt,
                                        teacher_ckpt_ignore_unexpected)
                self.teacher._is_init = True  # as mmrazor: init_weights keeps it
        self.allow_random_teacher = allow_random_teacher

    def init_weights(self) -> None:
        missing = [] if self.allow_random_teacher else teachers_without_weights(
            self.teacher)
        if missing:
            raise RuntimeError(
                f'{type(self).__name__}: no weights for {", ".join(missing)}: '
                f'`teacher_ckpt` is None and there is no Pretrained init_cfg'
                + (' or checkpoint in `checkpoints`'
                   if missing != ['teacher'] else '') +
                '; distilling from a random teacher is almost always a mistake. Give '
                'the teacher\'s checkpoint (model.teacher_ckpt=...), or set '
                'model.allow_random_teacher=True if a random teacher is intended.')
        student = self.architecture
        if hasattr(student, 'init_weights') and not getattr(student, 'is_init', False):
            student.init_weights()  # with the global random numbers, as alone
        with preserved_global_rng():
            original_init_weights(self)

    __init__.__doc__ = original_init.__doc__
    SingleTeacherDistill.__init__ = __init__
    SingleTeacherDistill.init_weights = init_weights
    setattr(SingleTeacherDistill, _PATCHED, True)
