"""Log the teacher-student CKA of recorded tensors during training and validation.

What RCKA optimises is the kernel alignment of teacher and student (Zhou et al.,
*Rethinking Centered Kernel Alignment in Knowledge Distillation*, IJCAI 2024, Fig. 5
plots it over training). :class:`CKAMonitorHook` reads tensors that an mmrazor
distiller already records and writes ``CKA(T, S)`` (each sample flattened to one row,
B x B Gram matrices, see :func:`~mmrazor_relkd.functional.linear_cka`) to the runner's
message hub, so it reaches the text log, every visualizer backend and
``vis_data/scalars.json`` (plot it with ``tools/analysis/plot_cka.py``).
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from torch import Tensor, nn

from mmrazor_relkd.functional.kernel_alignment import linear_cka
from mmrazor_relkd.functional.precision import to_loss_precision

RecordSpecCfg = Union[str, Dict]
_SPEC_KEYS = {'recorder', 'record_idx', 'data_idx'}


class RecordSpec(NamedTuple):
    """Where a monitored tensor lives: ``recorder.get_record_data(record_idx, data_idx)``."""
    recorder: str
    record_idx: int = 0
    data_idx: Optional[int] = None


def _parse_spec(pair: str, side: str, cfg: RecordSpecCfg) -> RecordSpec:
    """A recorder name, or ``dict(recorder=..., record_idx=..., data_idx=...)``."""
    if isinstance(cfg, str):
        return RecordSpec(cfg)
    if isinstance(cfg, dict) and 'recorder' in cfg and set(cfg) <= _SPEC_KEYS:
        return RecordSpec(**cfg)
    raise ValueError(
        f"CKAMonitorHook pair '{pair}': the {side} entry must be a recorder name or "
        f"dict(recorder=..., record_idx=0, data_idx=None), got {cfg!r}")


@HOOKS.register_module()
class CKAMonitorHook(Hook):
    """Log teacher-student CKA of recorded tensors to the message hub.

    For every pair ``name=(student_spec, teacher_spec)`` the hook logs
    ``CKA(T, S) = <T T^T, S S^T>_F / (||T T^T||_F ||S S^T||_F)`` with each sample
    flattened to one row, under ``train/{prefix}/{name}`` (every ``interval``
    training iterations, from what the training forward recorded) and
    ``val/{prefix}/{name}`` (mean over the validation batches). In the logs and in
    ``scalars.json`` the keys appear as ``{prefix}/{name}``. The text log and the
    visualizer backends pick values up at the ``LoggerHook`` interval, so use an
    ``interval`` that divides it.

    During validation the recorders are not active (``SingleTeacherDistillValLoop``
    runs student and teacher through ``val_step`` without them), so the hook runs both
    models itself on each validation batch in ``'tensor'`` mode, inside the recorders,
    under ``torch.no_grad()``: the monitored sources must run in that forward (true for
    backbone, neck and head modules). Each validation batch is processed once, although
    ``SingleTeacherDistillValLoop`` visits it twice (student pass, teacher pass).

    Works with mmrazor's ``SingleTeacherDistill`` / ``FpnTeacherDistill`` (also
    wrapped in DDP) whose ``distiller`` has ``student_recorders`` and
    ``teacher_recorders``. Example::

        custom_hooks = [
            dict(type='CKAMonitorHook', interval=10,
                 pairs=dict(logits=('fc_s', 'fc_t'),
                            neck=(dict(recorder='gap_s', data_idx=0),
                                  dict(recorder='gap_t', data_idx=0))))]

    Args:
        pairs: ``name -> (student_spec, teacher_spec)``; a spec is a recorder name in
            the distiller's ``student_recorders`` / ``teacher_recorders`` or
            ``dict(recorder=name, record_idx=0, data_idx=None)`` (the arguments of
            ``get_record_data``).
        interval: log the training CKA every ``interval`` iterations.
        monitor_val: also log the CKA of the validation batches.
        centered: apply the centering matrix (Kornblith et al. linear CKA).
        row_norm: divide each Gram row by the square root of its diagonal entry.
        prefix: key prefix in the logs.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL) reads the message hub

    def __init__(self, pairs: Dict[str, Sequence[RecordSpecCfg]], interval: int = 10,
                 monitor_val: bool = True, centered: bool = False,
                 row_norm: bool = False, prefix: str = 'cka') -> None:
        if not isinstance(pairs, dict) or not pairs:
            raise ValueError(
                f"CKAMonitorHook needs pairs=dict(name=(student_recorder, "
                f"teacher_recorder), ...), e.g. pairs=dict(logits=('fc_s', 'fc_t')); "
                f'got {pairs!r}')
        self.pairs: Dict[str, Tuple[RecordSpec, RecordSpec]] = {}
        for name, pair in pairs.items():
            if isinstance(pair, (str, dict)) or len(pair) != 2:
                raise ValueError(
                    f"CKAMonitorHook pair '{name}' must be (student_spec, teacher_spec), "
                    f'got {pair!r}')
            self.pairs[name] = (_parse_spec(name, 'student', pair[0]),
                                _parse_spec(name, 'teacher', pair[1]))
        if interval < 1:
            raise ValueError(f'CKAMonitorHook interval must be >= 1, got {interval}')
        self.interval = interval
        self.monitor_val = monitor_val
        self.centered = centered
        self.row_norm = row_norm
        self.prefix = prefix
        self._val_alignments: Dict[int, Tensor] = {}

    def before_train(self, runner) -> None:
        self._check_recorders(self._algorithm(runner))

    def before_val(self, runner) -> None:
        self._val_alignments = {}
        if self.monitor_val:
            self._check_recorders(self._algorithm(runner))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        alignments = self._alignments(self._algorithm(runner), 'training')
        for name, value in zip(self.pairs, alignments.tolist()):
            runner.message_hub.update_scalar(f'train/{self.prefix}/{name}', value)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs=None) -> None:
        if not self.monitor_val or batch_idx in self._val_alignments:
            return
        algorithm = self._algorithm(runner)
        distiller = algorithm.distiller
        with torch.no_grad():
            data = algorithm.data_preprocessor(data_batch, False)
            with distiller.student_recorders:
                algorithm.student(data['inputs'], data['data_samples'], mode='tensor')
            with distiller.teacher_recorders:
                algorithm.teacher(data['inputs'], data['data_samples'], mode='tensor')
        self._val_alignments[batch_idx] = self._alignments(algorithm, 'validation')

    def after_val_epoch(self, runner, metrics=None) -> None:
        if not self.monitor_val:
            return
        if self._val_alignments:
            batches = torch.stack(list(self._val_alignments.values()))
            totals = torch.cat([batches.sum(dim=0), batches.new_tensor([len(batches)])])
        else:  # this rank saw no batch; the others still expect its contribution
            totals = torch.zeros(len(self.pairs) + 1)
        all_reduce(totals, op='sum')
        if totals[-1] == 0:
            return
        for name, value in zip(self.pairs, (totals[:-1] / totals[-1]).tolist()):
            runner.message_hub.update_scalar(f'val/{self.prefix}/{name}', value)
        self._val_alignments = {}

    @staticmethod
    def _algorithm(runner) -> nn.Module:
        """The distillation algorithm, unwrapped from DDP & co., with its recorders."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        distiller = getattr(model, 'distiller', None)
        if not all(hasattr(distiller, attr)
                   for attr in ('student_recorders', 'teacher_recorders')):
            raise TypeError(
                f'CKAMonitorHook reads the recorders of an mmrazor distillation '
                f'algorithm (SingleTeacherDistill / FpnTeacherDistill with a '
                f'ConfigurableDistiller), but the runner model is '
                f'{type(model).__name__}; remove the hook or distil with such a model')
        return model

    def _check_recorders(self, algorithm: nn.Module) -> None:
        """Every monitored name must be a recorder of the right side."""
        sides = (('student', algorithm.distiller.student_recorders),
                 ('teacher', algorithm.distiller.teacher_recorders))
        for name, pair in self.pairs.items():
            for (side, manager), spec in zip(sides, pair):
                if spec.recorder not in manager.recorders:
                    raise ValueError(
                        f"CKAMonitorHook pair '{name}': '{spec.recorder}' is not one of "
                        f'the distiller\'s {side}_recorders {sorted(manager.recorders)}; '
                        f'record the tensor first, e.g. distiller=dict(..., '
                        f"{side}_recorders=dict({spec.recorder}=dict("
                        f"type='ModuleOutputs', source='head.fc')))")

    def _alignments(self, algorithm: nn.Module, phase: str) -> Tensor:
        """``CKA(T, S)`` of every pair from the current records, as one tensor."""
        distiller = algorithm.distiller
        values: List[Tensor] = []
        for name, (student_spec, teacher_spec) in self.pairs.items():
            student = self._record(distiller.student_recorders, student_spec, name, phase)
            teacher = self._record(distiller.teacher_recorders, teacher_spec, name, phase)
            if student.shape[0] != teacher.shape[0]:
                raise ValueError(
                    f"CKAMonitorHook pair '{name}': student '{student_spec.recorder}' "
                    f'has batch {student.shape[0]} but teacher '
                    f"'{teacher_spec.recorder}' has {teacher.shape[0]}; monitor tensors "
                    f'whose first axis is the batch')
            with torch.no_grad(), torch.autocast(device_type=student.device.type,
                                                 enabled=False):
                student, teacher = to_loss_precision(student.detach(), teacher.detach())
                batch = student.shape[0]
                values.append(linear_cka(teacher.reshape(batch, -1),
                                         student.reshape(batch, -1),
                                         centered=self.centered, row_norm=self.row_norm))
        return torch.stack([value.float() for value in values])

    @staticmethod
    def _record(manager, spec: RecordSpec, pair: str, phase: str) -> Tensor:
        recorder = manager.get_recorder(spec.recorder)
        if spec.record_idx >= len(recorder.data_buffer):
            raise RuntimeError(
                f"CKAMonitorHook pair '{pair}': recorder '{spec.recorder}' holds "
                f'{len(recorder.data_buffer)} records after the {phase} forward, but '
                f'record_idx={spec.record_idx} was asked for; in validation the models '
                f"run in 'tensor' mode, so the recorded source must run in that forward")
        data = recorder.get_record_data(spec.record_idx, spec.data_idx)
        if isinstance(data, (tuple, list)):
            raise TypeError(
                f"CKAMonitorHook pair '{pair}': recorder '{spec.recorder}' holds a "
                f'{type(data).__name__} of {len(data)} items, not a tensor; pick one '
                f"with dict(recorder='{spec.recorder}', data_idx=0)")
        if not isinstance(data, Tensor) or data.dim() == 0:
            raise TypeError(
                f"CKAMonitorHook pair '{pair}': recorder '{spec.recorder}' holds "
                f'{type(data).__name__} {tuple(getattr(data, "shape", ()))}, not a '
                f'batched (B, ...) tensor; monitor per-sample outputs such as logits or '
                f'feature maps')
        return data
