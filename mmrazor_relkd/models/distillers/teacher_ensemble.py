"""A teacher for mmrazor's distillers made of several frozen models that only extract
features: an ensemble of teachers (FKD, He & Ozay ICLR 2022, Sec. 5 / Fig. 4) and
teachers trained on another label space (FKD's dataset transfer, Tab. 1)."""
from typing import Any, Dict, List, Optional, Sequence, Union

from mmengine.model import BaseModel, ModuleList
from mmrazor.registry import MODELS
from torch import Tensor, nn

from .teacher_loading import load_teacher_checkpoint


@MODELS.register_module()
class TeacherEnsemble(BaseModel):
    """Runs ``E >= 1`` teacher models on the student's batch and returns their features.

    Use it as the ``teacher`` of mmrazor's ``SingleTeacherDistill`` (or of
    :class:`GNoRPDistill`)::

        teacher=dict(
            type='TeacherEnsemble',
            teachers=[dict(cfg_path='mmpretrain::resnet/resnet18_8xb16_cifar10.py',
                           pretrained=False), teacher_b_cfg],
            checkpoints=['work_dirs/teacher_a.pth', 'work_dirs/teacher_b.pth']),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
            # source='' is the ensemble itself: its output, one tensor per teacher
            teacher_recorders=dict(feats=dict(type='ModuleOutputs', source='')),
            distill_losses=dict(loss_fkd=dict(type='FKDLoss')),
            loss_forward_mappings=dict(loss_fkd=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
                preds_T=dict(from_student=False, recorder='feats'))))

    Whatever ``mode`` the distiller asks for, every teacher only runs
    ``extract_feat(inputs)`` (all mmpretrain / mmdet / mmseg models have it): the
    student's labels are never given to a teacher, so a teacher may have been trained on
    another label set or dataset (plain KD, which compares logits, cannot use it; a
    feature relation loss such as ``FKDLoss`` or ``AffinityLoss`` can). Recorders on a
    single member's modules (``source='teachers.0.neck'``) work as usual.

    Args:
        teachers: model configs (built with mmrazor's ``MODELS``, so
            ``dict(cfg_path='pkg::path.py', pretrained=False)`` works) or built models.
        checkpoints: one checkpoint path / URL (or ``None``) per teacher, loaded now
            and strictly (:func:`load_teacher_checkpoint`): a checkpoint that does not
            fit its teacher raises. Each member is checked on its own: one whose
            tensors are not all loaded, by its checkpoint or by ``Pretrained``
            ``init_cfg`` entries, makes the distillation algorithm's ``init_weights`` raise,
            naming its modules without weights, unless the algorithm has
            ``allow_random_teacher=True``.
        feature_index: which entry of a teacher's ``extract_feat`` output (a tuple of
            stages / levels) to return; ``None`` returns the whole output. The default
            ``-1`` is the last stage, the penultimate features of a classifier.
        ignore_unexpected_keys: accept checkpoint keys a teacher does not have (a
            checkpoint of a larger model that contains the teacher).
        init_cfg: mmengine init config (the loaded teachers are marked initialised).
    """

    def __init__(self, teachers: Sequence[Union[Dict, nn.Module]],
                 checkpoints: Optional[Sequence[Optional[str]]] = None,
                 feature_index: Optional[int] = -1,
                 ignore_unexpected_keys: bool = False,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(teachers) == 0:
            raise ValueError('TeacherEnsemble needs at least one teacher in `teachers`')
        if checkpoints is not None and len(checkpoints) != len(teachers):
            raise ValueError(
                f'TeacherEnsemble got {len(checkpoints)} checkpoints for '
                f'{len(teachers)} teachers; give one path (or None) per teacher, '
                f'e.g. checkpoints=[None] * {len(teachers)}')
        models = [MODELS.build(t) if isinstance(t, dict) else t for t in teachers]
        for index, model in enumerate(models):
            if not callable(getattr(model, 'extract_feat', None)):
                raise TypeError(
                    f'teacher {index} ({type(model).__name__}) has no extract_feat '
                    f'method; TeacherEnsemble needs OpenMMLab models such as '
                    f'mmpretrain ImageClassifier or mmdet detectors')
        # mmengine's ModuleList: init_weights reaches the members (Pretrained init_cfg)
        self.teachers = ModuleList(models)
        self.feature_index = feature_index
        for model, checkpoint in zip(self.teachers, checkpoints or []):
            if checkpoint:
                load_teacher_checkpoint(model, checkpoint, ignore_unexpected_keys,
                                        option='ignore_unexpected_keys')
                model._is_init = True

    def forward(self, inputs: Tensor, data_samples: Optional[List[Any]] = None,
                mode: str = 'tensor') -> List[Any]:
        """Features of every teacher for ``inputs``; ``data_samples`` and ``mode`` are
        ignored (no teacher sees the student's labels)."""
        features = [teacher.extract_feat(inputs) for teacher in self.teachers]
        if self.feature_index is None:
            return features
        return [f[self.feature_index] if isinstance(f, (tuple, list)) else f
                for f in features]

