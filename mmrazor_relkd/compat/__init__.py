"""Compatibility shims, applied by ``import mmrazor_relkd``; each is a no-op where the
installed versions do not need it (each checks the need itself, not a version number,
except the checkpoint allow-list, which follows torch's ``weights_only`` default).

* :func:`disable_broken_quantization` (``mmrazor_quantization``, ``quantization_source``):
  ``import mmrazor`` on torch >= 2; its quantization package becomes a stand-in whose
  every use raises :class:`QuantizationUnavailable` naming the removed torch APIs;
* :func:`keep_activations_out_of_place` (``inplace_activations``): mmrazor's
  ``set_module_inplace_false`` reaches child modules again (torch >= 2 keeps them in
  a plain ``dict``), so recorders never see values overwritten by an in-place
  activation;
* :func:`provide_soft_cross_entropy` (``kd_soft_ce_loss``): mmrazor's ``KDSoftCELoss``
  gets mmpretrain's ``soft_cross_entropy`` where mmcls is absent;
* :func:`check_recorder_sources` (``recorder_sources``): a misspelled recorder
  ``source`` raises :class:`UnknownRecorderSource` listing the closest names;
* :func:`allow_mmengine_checkpoints` (``checkpoint_globals``): mmengine checkpoints
  load under torch's ``weights_only=True`` default: exactly their globals are allowed,
  and only while mmengine's ``CheckpointLoader.load_checkpoint`` runs;
* :func:`check_checkpoint_files` (``checkpoint_files``): a file that is not a
  checkpoint, given to ``load_from``, ``--resume`` or ``teacher_ckpt``, raises
  :class:`InvalidCheckpointError` naming it;
* :func:`enable_cpu_distributed` (``cpu_distributed``): mmengine's torchrun launcher on
  hosts without CUDA;
* :func:`verify_distillation_teachers` (``teacher_distill``): mmrazor's
  ``SingleTeacherDistill`` (and so ``FpnTeacherDistill``,
  ``OverhaulFeatureDistillation`` and ``GNoRPDistill``) and ``DataFreeDistillation``
  (and ``DAFLDataFreeDistillation``) load their teacher checkpoints strictly, refuse to
  train unless a checkpoint has supplied every tensor of every teacher (or
  ``allow_random_teacher=True``), and ``SingleTeacherDistill`` builds and initialises
  the teacher without touching the student's random-number stream.
"""
from .checkpoint_files import InvalidCheckpointError, check_checkpoint_files
from .checkpoint_globals import allow_mmengine_checkpoints
from .cpu_distributed import enable_cpu_distributed
from .inplace_activations import keep_activations_out_of_place
from .kd_soft_ce_loss import provide_soft_cross_entropy
from .mmrazor_quantization import QuantizationUnavailable, disable_broken_quantization
from .recorder_sources import UnknownRecorderSource, check_recorder_sources
from .teacher_distill import verify_distillation_teachers


def apply_compat() -> None:
    """Apply every shim (idempotent). The quantization stand-in comes before the shims
    that import ``mmrazor.models``."""
    allow_mmengine_checkpoints()
    check_checkpoint_files()
    enable_cpu_distributed()
    disable_broken_quantization()
    keep_activations_out_of_place()
    provide_soft_cross_entropy()
    check_recorder_sources()
    verify_distillation_teachers()


__all__ = ['InvalidCheckpointError', 'QuantizationUnavailable', 'UnknownRecorderSource',
           'allow_mmengine_checkpoints', 'apply_compat', 'check_checkpoint_files',
           'check_recorder_sources', 'disable_broken_quantization',
           'enable_cpu_distributed', 'keep_activations_out_of_place',
           'provide_soft_cross_entropy', 'verify_distillation_teachers']
