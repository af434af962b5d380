"""KDA: knowledge distillation by approximated (landmark) kernel matrix transfer."""
import logging
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather, all_reduce, get_rank, get_world_size
from mmengine.logging import print_log
from mmrazor.registry import MODELS
from torch import Tensor, nn

from ...functional.landmark_kernel import (NYSTROM_FORMS, landmark_kernel_loss,
                                           nystrom_operators)
from ...functional.landmark_selection import (EMPTY_KEY, cluster_sums,
                                              keep_smallest_keys_per_group,
                                              kmeans_within_groups)
from ...functional.precision import to_loss_precision

LANDMARK_KINDS = ('class_mean', 'random_samples')
# state-dict keys of an epoch in progress: ``<prefix>partial_epoch_<part>``
PARTIAL_EPOCH_PREFIX = 'partial_epoch_'


@dataclass
class _EpochAccumulator:
    """One rank's running state of the current epoch (what ``update_landmarks`` uses)."""
    label_range: Tensor  # (largest label, -smallest label) seen; (0, 0): none negative
    sums: Optional[Tensor] = None  # class means: (num_classes, d_S + d_T), float64
    counts: Optional[Tensor] = None  # (num_classes,)
    sample_keys: Optional[Tensor] = None  # variants: bottom-k sample, (G, m)
    sample_values: Optional[Tensor] = None  # (G, m, d_S + d_T)
    pending: List[Tuple[Tensor, Tensor, Tensor]] = field(default_factory=list)
    pending_rows: int = 0  # rows in ``pending`` (keys, groups, values) not merged yet


@MODELS.register_module()
class KDALoss(nn.Module):
    r"""Landmark kernel transfer of Qian et al., *Improved Knowledge Distillation via
    Full Kernel Matrix Transfer* (SDM 2022), Alg. 1 and Eq. 3.3-3.4.

    The math, the defaults and their sources: ``docs/losses.md#kdaloss``.

    With features ``X_S`` (N x d_S), ``X_T`` (N x d_T) of one layer (``(N, d, H, W)``
    maps are average-pooled to ``(N, d)``) and the landmarks ``D_S`` (L x d_S),
    ``D_T`` (L x d_T) of the previous epoch::

        loss = loss_weight * sum_ij smoothL1(X_S D_S^T - X_T D_T^T)_ij / ||X_T D_T^T||_F

    smooth-L1 with beta = 1 (:func:`~mmrazor_relkd.functional.landmark_kernel_loss`);
    the teacher side is detached. ``nystrom='pinv'`` / ``'inv_sqrt'`` transfer the full
    Nystrom form of Cor. 1 instead (see :mod:`mmrazor_relkd.functional.landmark_kernel`).

    **Landmarks.** ``landmarks='class_mean'`` (default, Eq. 3.3): ``D`` holds the mean
    feature of every class over the previous training epoch, student and teacher alike
    (``L = num_classes``). Every training-mode forward adds the batch to per-rank sums and
    counts; :meth:`update_landmarks` (called by ``KDALandmarkHook`` at the end of each
    training epoch) all-reduces them over the ranks, divides, and starts a new
    accumulation, so every rank holds the same global class means. A class without
    samples in the epoch keeps its previous landmark (zero before it is first seen).
    Variants (paper Fig. 1, Fig. 6), each with ``L = num_classes * centers_per_class``:

    * ``centers_per_class > 1``: k-means within every class on a uniform random sample of
      ``kmeans_samples_per_class`` samples per class and epoch, clustering the
      concatenated ``[x_S, x_T]`` features (a cluster's student and teacher landmarks are
      the means of the same samples: Theorem 3's term A); 20 Lloyd iterations, initial
      centres drawn from the sample.
    * ``landmarks='random_samples'``: ``L`` training samples drawn uniformly from the
      previous epoch.

    Both keep a bottom-k sample (:mod:`mmrazor_relkd.functional.landmark_selection`):
    per rank at most twice the sample plus one batch of ``d_S + d_T`` rows (new batches
    are folded in once they add up to the sample's size); the ranks' samples are merged
    at the update into the sample of the whole epoch. The random draws use a generator
    seeded from ``(seed, rank, completed updates)``, so a resumed run draws what the
    uninterrupted run draws.

    **Warm-up.** Until ``warmup_epochs`` updates have completed the loss is exactly
    ``0 * sum(X_S)`` (zero, but in the graph so DistributedDataParallel sees the student
    parameters used) and says so once in the log. ``warmup_epochs >= 1`` since there are
    no landmarks before the first epoch ends.

    **Labels.** ``gt_labels`` are class indices ``(N,)`` or soft labels ``(N,
    num_classes)`` (Mixup / CutMix); soft labels count for their argmax class. Record
    them with a ``ModuleInputs`` recorder on the student's ``head.loss_module`` and map
    ``gt_labels=dict(from_student=True, recorder=..., data_idx=1)``: mmpretrain's
    ``ClsHead._get_loss`` calls ``loss_module(cls_score, target)``. Labels only feed the
    landmark accumulation; a label outside ``[0, num_classes)`` is left out there and
    :meth:`update_landmarks` raises a ``ValueError`` naming it (checking at the end of the
    epoch keeps the forward free of CPU synchronisation).

    **State and checkpoints.** The landmarks and the number of completed updates are
    buffers, so they are saved in checkpoints and broadcast unchanged by DDP (they are
    equal on every rank). The per-rank epoch accumulators are plain attributes, not
    buffers: DDP's ``broadcast_buffers`` would otherwise overwrite every rank's partial
    sums with rank 0's. A state dict taken in the middle of an epoch also holds the
    partial epoch (``partial_epoch_*`` keys: sums and counts, or the sample, the pending
    rows and the generator state), so a run resumed there in one process (with
    ``ExactResumeEpochBasedTrainLoop``) finalises the same landmarks as the uninterrupted
    run. A checkpoint holds rank 0's partial epoch only, so with several processes (when
    saved or loaded) the partial epoch is discarded, with a warning, and the landmarks
    of that epoch come from its remaining batches. The Nystrom matrices ``W^+`` /
    ``W_T^{+1/2}`` are non-persistent buffers, recomputed from the landmarks at every
    update and after loading (no eigendecomposition in the forward).

    Args:
        num_classes: number of classes of the labels.
        student_channels: ``d_S``, channels of the student features.
        teacher_channels: ``d_T``, channels of the teacher features; may differ from
            ``d_S`` (kernels are compared, no connector is needed).
        loss_weight: ``w`` (paper: 0.04).
        warmup_epochs: ``H``, training epochs without the loss (paper: 5).
        landmarks: ``'class_mean'`` or ``'random_samples'``.
        centers_per_class: landmarks per class (k-means when > 1).
        nystrom: ``None``, ``'pinv'`` or ``'inv_sqrt'``.
        kmeans_samples_per_class: samples per class and epoch that k-means clusters.
        seed: seed of the random draws of the variants.
    """

    def __init__(self,
                 num_classes: int,
                 student_channels: int,
                 teacher_channels: int,
                 loss_weight: float = 0.04,
                 warmup_epochs: int = 5,
                 landmarks: str = 'class_mean',
                 centers_per_class: int = 1,
                 nystrom: Optional[str] = None,
                 kmeans_samples_per_class: int = 256,
                 seed: int = 0) -> None:
        super().__init__()
        if warmup_epochs < 1:
            raise ValueError(
                f'KDALoss: warmup_epochs must be >= 1, got {warmup_epochs}: the landmarks '
                'are the features of a completed epoch, so the loss cannot act in the '
                'first one (the paper uses warmup_epochs=5)')
        if landmarks not in LANDMARK_KINDS:
            raise ValueError(f'KDALoss: landmarks must be one of {LANDMARK_KINDS}, '
                             f'got {landmarks!r}')
        if nystrom not in NYSTROM_FORMS:
            raise ValueError(f'KDALoss: nystrom must be one of {NYSTROM_FORMS}, '
                             f'got {nystrom!r}')
        for name, value in (('num_classes', num_classes),
                            ('student_channels', student_channels),
                            ('teacher_channels', teacher_channels),
                            ('centers_per_class', centers_per_class)):
            if value < 1:
                raise ValueError(f'KDALoss: {name} must be >= 1, got {value}')
        if kmeans_samples_per_class < centers_per_class:
            raise ValueError(
                f'KDALoss: kmeans_samples_per_class ({kmeans_samples_per_class}) must be '
                f'at least centers_per_class ({centers_per_class})')
        self.num_classes = num_classes
        self.student_channels = student_channels
        self.teacher_channels = teacher_channels
        self.loss_weight = loss_weight
        self.warmup_epochs = warmup_epochs
        self.landmark_kind = landmarks
        self.centers_per_class = centers_per_class
        self.nystrom = nystrom
        self.seed = seed
        self.num_landmarks = num_classes * centers_per_class
        if landmarks == 'random_samples':
            self._sample_groups, self._sample_size = 1, self.num_landmarks
        else:
            self._sample_groups, self._sample_size = num_classes, kmeans_samples_per_class

        self.register_buffer('landmarks_student',
                             torch.zeros(self.num_landmarks, student_channels))
        self.register_buffer('landmarks_teacher',
                             torch.zeros(self.num_landmarks, teacher_channels))
        self.register_buffer('num_updates', torch.zeros((), dtype=torch.long))
        if nystrom is not None:
            shape = (self.num_landmarks, self.num_landmarks)
            self.register_buffer('nystrom_student', torch.zeros(shape), persistent=False)
            self.register_buffer('nystrom_teacher', torch.zeros(shape), persistent=False)
        # Python mirror of ``num_updates``: the warm-up test in forward needs no sync.
        self._completed_updates = 0
        self._warmup_logged = False
        self._accumulated: Optional[_EpochAccumulator] = None
        self._key_generator: Optional[torch.Generator] = None

    @property
    def _uses_class_sums(self) -> bool:
        return self.landmark_kind == 'class_mean' and self.centers_per_class == 1

    def forward(self, preds_S: Tensor, preds_T: Tensor, gt_labels: Tensor) -> Tensor:
        """KDA loss of a batch; in training mode also accumulates it for the landmarks.

        Args:
            preds_S: student features ``(N, d_S)`` or ``(N, d_S, H, W)``.
            preds_T: teacher features ``(N, d_T)`` or ``(N, d_T, H, W)``.
            gt_labels: ``(N,)`` class indices or ``(N, num_classes)`` soft labels.

        Returns:
            Scalar loss, float32 (float64 for float64 inputs).
        """
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            feats_S, feats_T = self.pooled_features(preds_S, preds_T)
            labels = self._hard_labels(gt_labels, feats_S.shape[0])
            if self.training:
                self._accumulate(torch.cat([feats_S.detach(), feats_T], dim=1), labels)
            if self._completed_updates < self.warmup_epochs:
                self._log_warmup_once()
                return 0 * feats_S.sum()
            dtype = feats_S.dtype
            operators = None
            if self.nystrom is not None:
                operators = (self.nystrom_student.to(dtype), self.nystrom_teacher.to(dtype))
            return self.loss_weight * landmark_kernel_loss(
                feats_S, feats_T, self.landmarks_student.to(dtype),
                self.landmarks_teacher.to(dtype), self.nystrom, operators)

    def pooled_features(self, preds_S: Tensor, preds_T: Tensor) -> Tuple[Tensor, Tensor]:
        """Checked ``(N, d_S)``, ``(N, d_T)`` features in loss precision (float32, float64
        kept), ``(N, d, H, W)`` maps average-pooled; the teacher's detached."""
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            feats_S, feats_T = to_loss_precision(preds_S, preds_T.detach())
            feats_S = self._pooled(feats_S, self.student_channels, 'student')
            feats_T = self._pooled(feats_T, self.teacher_channels, 'teacher')
        if feats_S.shape[0] != feats_T.shape[0]:
            raise ValueError(f'KDALoss: student and teacher features must hold the same '
                             f'samples, got batch sizes {feats_S.shape[0]} and '
                             f'{feats_T.shape[0]}')
        return feats_S, feats_T

    def _pooled(self, feats: Tensor, channels: int, side: str) -> Tensor:
        """``(N, d)`` features, average-pooling ``(N, d, H, W)`` maps."""
        if feats.dim() == 4:
            feats = feats.mean(dim=(2, 3))
        if feats.dim() != 2:
            raise ValueError(f'KDALoss: {side} features must be (N, d) or (N, d, H, W), '
                             f'got shape {tuple(feats.shape)}')
        if feats.shape[1] != channels:
            raise ValueError(
                f'KDALoss: {side} features have {feats.shape[1]} channels but '
                f'{side}_channels={channels}; set {side}_channels={feats.shape[1]} in the '
                'loss config (KDA compares kernels, so student and teacher channels may '
                'differ and no connector is needed)')
        return feats

    def _hard_labels(self, gt_labels: Tensor, batch_size: int) -> Tensor:
        """``(N,)`` long class indices; soft ``(N, num_classes)`` labels by argmax."""
        if not isinstance(gt_labels, Tensor):
            raise TypeError(
                f'KDALoss: gt_labels must be a tensor, got {type(gt_labels).__name__}; '
                "record the targets with dict(type='ModuleInputs', "
                "source='head.loss_module') and map gt_labels=dict(from_student=True, "
                'recorder=<its name>, data_idx=1)')
        if gt_labels.dim() == 2 and gt_labels.is_floating_point():
            if gt_labels.shape != (batch_size, self.num_classes):
                raise ValueError(
                    f'KDALoss: soft labels must have shape (N, num_classes) = '
                    f'({batch_size}, {self.num_classes}), got {tuple(gt_labels.shape)}')
            return gt_labels.argmax(dim=1)
        if gt_labels.dim() != 1 or gt_labels.is_floating_point() or \
                gt_labels.shape[0] != batch_size:
            raise ValueError(
                f'KDALoss: gt_labels must be ({batch_size},) integer class indices or '
                f'({batch_size}, {self.num_classes}) float soft labels, got '
                f'{gt_labels.dtype} of shape {tuple(gt_labels.shape)}')
        return gt_labels.long()

    def _log_warmup_once(self) -> None:
        if not self._warmup_logged:
            print_log(f'KDALoss is warming up: it returns 0 until {self.warmup_epochs} '
                      f'landmark update(s) have completed ({self._completed_updates} so '
                      'far; KDALandmarkHook updates at the end of every training epoch)',
                      logger='current')
            self._warmup_logged = True

    def _empty_accumulator(self, device: torch.device,
                           dtype: torch.dtype) -> '_EpochAccumulator':
        """The per-rank state of an epoch that has seen no sample yet."""
        width = self.student_channels + self.teacher_channels
        state = _EpochAccumulator(torch.zeros(2, dtype=torch.long, device=device))
        if self._uses_class_sums:
            state.sums = torch.zeros(self.num_classes, width, dtype=torch.float64,
                                     device=device)
            state.counts = torch.zeros(self.num_classes, dtype=torch.float64, device=device)
        else:
            groups, size = self._sample_groups, self._sample_size
            state.sample_keys = torch.full((groups, size), EMPTY_KEY, dtype=torch.float64,
                                           device=device)
            state.sample_values = torch.zeros(groups, size, width, dtype=dtype, device=device)
        return state

    def _new_key_generator(self, device: torch.device) -> torch.Generator:
        """Generator of this rank and epoch: ``(seed, rank, completed updates)``."""
        entropy = np.random.SeedSequence([self.seed, get_rank(), self._completed_updates])
        seed = int(entropy.generate_state(1, np.uint64)[0] >> np.uint64(1))
        return torch.Generator(device=device).manual_seed(seed)

    def _accumulate(self, features: Tensor, labels: Tensor) -> None:
        """Add a batch of ``[x_S, x_T]`` rows to this rank's epoch state."""
        if self._accumulated is None:
            self._accumulated = self._empty_accumulator(features.device, features.dtype)
            if not self._uses_class_sums:
                self._key_generator = self._new_key_generator(features.device)
        state = self._accumulated
        state.label_range = torch.maximum(
            state.label_range, torch.stack([labels.max(), labels.min().neg()]))
        valid = (labels >= 0) & (labels < self.num_classes)
        classes = labels.clamp(0, self.num_classes - 1)
        if self._uses_class_sums:
            state.sums.index_add_(0, classes, features.double() * valid[:, None])
            state.counts.index_add_(0, classes, valid.double())
            return
        keys = torch.rand(labels.shape[0], generator=self._key_generator,
                          device=features.device, dtype=torch.float64)
        keys = keys.masked_fill(~valid, EMPTY_KEY)
        groups = classes if self._sample_groups > 1 else torch.zeros_like(classes)
        state.pending.append((keys, groups, features.to(state.sample_values.dtype)))
        state.pending_rows += labels.shape[0]
        if state.pending_rows >= state.sample_keys.numel():
            self._merge_pending(state)

    def _merge_pending(self, state: '_EpochAccumulator') -> None:
        """Fold the pending batches into the bottom-k sample (done once their rows reach
        the sample's size, so the per-step cost does not grow with the sample)."""
        state.sample_keys, state.sample_values = self._bottom_k_sample(
            [self._sample_entries(state.sample_keys, state.sample_values)] + state.pending)
        state.pending, state.pending_rows = [], 0

    def _sample_entries(self, keys: Tensor, values: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """A ``(G, m)`` per-group sample as flat ``(keys, groups, values)`` entries."""
        groups = torch.arange(self._sample_groups, device=keys.device)
        return (keys.reshape(-1), groups.repeat_interleave(self._sample_size),
                values.reshape(-1, values.shape[-1]))

    def _bottom_k_sample(self, entries: List[Tuple[Tensor, Tensor, Tensor]]
                         ) -> Tuple[Tensor, Tensor]:
        """Per group, the entries with the smallest keys: ``(G, m)`` keys and values."""
        keys, groups, values = (torch.cat(part) for part in zip(*entries))
        return keep_smallest_keys_per_group(keys, groups, values, self._sample_groups,
                                            self._sample_size)

    @torch.no_grad()
    def update_landmarks(self) -> None:
        """Finalise the landmarks of the epoch that ends and start a new accumulation.

        Must be called on every rank (it all-reduces / all-gathers). Raises a
        ``ValueError`` if any rank saw a label outside ``[0, num_classes)``.
        """
        state = self._accumulated or self._empty_accumulator(
            self.landmarks_student.device, self.landmarks_student.dtype)
        self._accumulated = None
        self._raise_on_bad_labels(state.label_range)
        if self._uses_class_sums:
            all_reduce(state.sums, op='sum')
            all_reduce(state.counts, op='sum')
            means = state.sums / state.counts.clamp_min(1)[:, None]
            found = state.counts > 0
        else:
            self._merge_pending(state)
            keys, values = self._bottom_k_sample([
                self._sample_entries(rank_keys, rank_values) for rank_keys, rank_values in
                zip(all_gather(state.sample_keys), all_gather(state.sample_values))])
            valid = torch.isfinite(keys)
            if self.landmark_kind == 'random_samples':
                means, found = values[0], valid[0]
            else:
                assignment = kmeans_within_groups(values, valid, self.centers_per_class)
                sums, counts = cluster_sums(values, assignment, self.centers_per_class)
                means = (sums / counts.clamp_min(1)[..., None]).flatten(0, 1)
                found = (counts > 0).flatten()
        means_S, means_T = means.split([self.student_channels, self.teacher_channels], dim=1)
        for landmarks, new in ((self.landmarks_student, means_S),
                               (self.landmarks_teacher, means_T)):
            landmarks.copy_(torch.where(found[:, None], new.to(landmarks.dtype), landmarks))
        self.num_updates += 1
        self._completed_updates += 1
        self._refresh_nystrom_operators()

    def _raise_on_bad_labels(self, label_range: Tensor) -> None:
        all_reduce(label_range, op='max')
        largest, negated_smallest = label_range.tolist()
        smallest = -negated_smallest
        bad = largest if largest >= self.num_classes else smallest
        if largest >= self.num_classes or smallest < 0:
            raise ValueError(
                f'KDALoss: got label {bad} outside [0, num_classes) = [0, '
                f'{self.num_classes}); set num_classes to the number of classes of the '
                'dataset (those samples were left out of the landmarks)')

    def _refresh_nystrom_operators(self) -> None:
        if self.nystrom is None:
            return
        op_S, op_T = nystrom_operators(self.landmarks_student, self.landmarks_teacher,
                                       self.nystrom)
        self.nystrom_student.copy_(op_S)
        self.nystrom_teacher.copy_(op_T)

    def _save_to_state_dict(self, destination, prefix, keep_vars) -> None:
        """Buffers, plus the partial epoch when an accumulation is in progress."""
        super()._save_to_state_dict(destination, prefix, keep_vars)
        state = self._accumulated
        if state is None:
            return
        parts = dict(world_size=torch.tensor(get_world_size()),
                     label_range=state.label_range)
        if self._uses_class_sums:
            parts.update(sums=state.sums, counts=state.counts)
        else:
            width = state.sample_values.shape[-1]
            pending = state.pending or [(state.sample_keys.new_empty(0),
                                         state.label_range.new_empty(0),
                                         state.sample_values.new_empty(0, width))]
            keys, groups, values = (torch.cat(part) for part in zip(*pending))
            parts.update(sample_keys=state.sample_keys, sample_values=state.sample_values,
                         pending_keys=keys, pending_groups=groups, pending_values=values,
                         key_generator=self._key_generator.get_state())
        for name, value in parts.items():
            destination[f'{prefix}{PARTIAL_EPOCH_PREFIX}{name}'] = value

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs) -> None:
        """Load landmarks and update count, and the partial epoch where it was saved
        (see the class doc)."""
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)
        partial_prefix = prefix + PARTIAL_EPOCH_PREFIX
        partial = {key[len(partial_prefix):]: value for key, value in state_dict.items()
                   if key.startswith(partial_prefix)}
        unexpected_keys[:] = [key for key in unexpected_keys
                              if not key.startswith(partial_prefix)]
        self._completed_updates = int(self.num_updates)
        self._accumulated = self._restored_partial_epoch(partial) if partial else None
        with torch.no_grad():
            self._refresh_nystrom_operators()

    def _restored_partial_epoch(self, partial: dict) -> Optional[_EpochAccumulator]:
        """The accumulator saved by :meth:`_save_to_state_dict`, or ``None`` (with a
        warning) where it is one rank's of several."""
        saved_world_size = int(partial['world_size'])
        if saved_world_size != 1 or get_world_size() != 1:
            print_log(f'KDALoss: discarding the partial epoch of the checkpoint (saved '
                      f'with {saved_world_size} process(es), loaded with '
                      f"{get_world_size()}): it holds rank 0's samples only; the "
                      "landmarks of this epoch come from its remaining batches",
                      logger='current', level=logging.WARNING)
            return None
        device = self.landmarks_student.device
        partial = {name: value.to(device) for name, value in partial.items()}
        state = _EpochAccumulator(partial['label_range'])
        if self._uses_class_sums:
            state.sums, state.counts = partial['sums'], partial['counts']
            return state
        state.sample_keys, state.sample_values = (partial['sample_keys'],
                                                  partial['sample_values'])
        if partial['pending_keys'].numel():
            state.pending = [(partial['pending_keys'], partial['pending_groups'],
                              partial['pending_values'])]
            state.pending_rows = partial['pending_keys'].shape[0]
        self._key_generator = torch.Generator(device=device)
        self._key_generator.set_state(partial['key_generator'].cpu())
        return state

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, student_channels={self.student_channels}, '
                f'teacher_channels={self.teacher_channels}, loss_weight={self.loss_weight}, '
                f'warmup_epochs={self.warmup_epochs}, landmarks={self.landmark_kind!r}, '
                f'centers_per_class={self.centers_per_class}, nystrom={self.nystrom!r}')
