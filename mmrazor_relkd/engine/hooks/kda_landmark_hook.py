"""End-of-epoch landmark updates of KDA losses, with the paper's transfer diagnostics."""
from typing import Dict, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop
from torch import nn

from mmrazor_relkd.functional.landmark_kernel import (kernel_transfer_error,
                                                      landmark_gram_min_eigenvalue,
                                                      landmark_transfer_error)
from mmrazor_relkd.models.losses.kda_loss import KDALoss

DIAGNOSTIC_BATCHES = (None, 'val', 'train')


@HOOKS.register_module()
class KDALandmarkHook(Hook):
    """Call ``update_landmarks()`` of every :class:`KDALoss` after each training epoch
    and log how well the teacher's kernel has been transferred.

    KDA (Qian et al., SDM 2022, Alg. 1) computes the landmarks of epoch ``t`` from the
    features of epoch ``t - 1``; this hook closes each epoch. It runs before
    ``CheckpointHook`` (priority ``NORMAL`` < ``VERY_LOW``), so the checkpoint of an
    epoch holds the landmarks that the next epoch uses and a resumed run continues
    with them. It must run on every rank (the update all-reduces).

    Logged per KDA loss ``<name>`` (the name in the distiller's ``distill_losses``)
    under ``train/<prefix>/<name>/...`` in the message hub and in one text-log line:

    * ``min_eig_W_S``, ``min_eig_W_T``: smallest eigenvalue of the landmark Gram
      matrices ``W = D D^T`` (Theorem 2 assumes > 1; paper Fig. 4).
    * ``transfer_error``: ``||K_S - K_T||_F / ||K_T||_F`` with ``K = X X^T`` on a fixed
      held-out batch (Fig. 2/3), and ``landmark_transfer_error``:
      ``||C_S - C_T||_F / ||K_T||_F`` with ``C = X D^T`` (the paper's estimate, Fig. 3).
      The batch is taken once, in ``before_train``: the first batch of the validation
      dataloader (``diagnostic_batch='val'``, deterministic: no augmentation) or of the
      training dataloader (``'train'``); both models run on it in eval mode through the
      distiller's recorders, and the KDA inputs are read with the loss's own
      ``loss_forward_mappings``. ``None`` logs the eigenvalues only. Under DDP each rank
      uses its own first batch; the log shows rank 0's.

    Example::

        custom_hooks = [dict(type='KDALandmarkHook')]

    Args:
        diagnostic_batch: ``'val'``, ``'train'`` or ``None`` (see above).
        prefix: key prefix in the message hub.
    """

    priority = 'NORMAL'

    def __init__(self, diagnostic_batch: Optional[str] = 'val', prefix: str = 'kda') -> None:
        if diagnostic_batch not in DIAGNOSTIC_BATCHES:
            raise ValueError(f'KDALandmarkHook: diagnostic_batch must be one of '
                             f'{DIAGNOSTIC_BATCHES}, got {diagnostic_batch!r}')
        self.diagnostic_batch = diagnostic_batch
        self.prefix = prefix
        self._held_out_batch: Optional[dict] = None

    def before_train(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise TypeError(
                f'KDALandmarkHook updates the KDA landmarks at the end of each training '
                f'epoch, but the train loop is {type(runner.train_loop).__name__}; use '
                "train_cfg=dict(by_epoch=True, max_epochs=...)")
        model = self._unwrapped(runner)
        if not self._kda_losses(model):
            raise ValueError('KDALandmarkHook found no KDALoss in the model; add one to '
                             'the distiller\'s distill_losses or remove the hook')
        if self.diagnostic_batch is None:
            return
        if not hasattr(getattr(model, 'distiller', None), 'loss_forward_mappings'):
            raise TypeError(
                f'KDALandmarkHook: the transfer diagnostics run the models through an '
                f'mmrazor ConfigurableDistiller, but the model is {type(model).__name__}; '
                'use SingleTeacherDistill or set diagnostic_batch=None')
        if self.diagnostic_batch == 'val':
            if runner.val_loop is None:
                raise ValueError(
                    "KDALandmarkHook: diagnostic_batch='val' needs a val_dataloader; "
                    "configure one or use diagnostic_batch='train' (or None)")
            loader = runner.val_loop.dataloader
        else:
            loader = runner.train_dataloader
        self._held_out_batch = next(iter(loader))

    def after_train_epoch(self, runner) -> None:
        model = self._unwrapped(runner)
        losses = self._kda_losses(model)
        for loss in losses.values():
            loss.update_landmarks()
        scalars: Dict[str, float] = {}
        for name, loss in losses.items():
            scalars[f'{name}/min_eig_W_S'] = landmark_gram_min_eigenvalue(
                loss.landmarks_student).item()
            scalars[f'{name}/min_eig_W_T'] = landmark_gram_min_eigenvalue(
                loss.landmarks_teacher).item()
        if self._held_out_batch is not None:
            scalars.update(self._transfer_errors(model, losses))
        for key, value in scalars.items():
            runner.message_hub.update_scalar(f'train/{self.prefix}/{key}', value)
        runner.logger.info(f'Epoch {runner.epoch + 1} KDA landmarks updated: ' + ', '.join(
            f'{key}={value:.4g}' for key, value in scalars.items()))

    @staticmethod
    def _unwrapped(runner) -> nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    @staticmethod
    def _kda_losses(model: nn.Module) -> Dict[str, KDALoss]:
        """Every KDALoss of the model, by its last name component (its distill loss name)."""
        return {name.rsplit('.', 1)[-1]: module for name, module in model.named_modules()
                if isinstance(module, KDALoss)}

    @torch.no_grad()
    def _transfer_errors(self, model: nn.Module,
                         losses: Dict[str, KDALoss]) -> Dict[str, float]:
        """Transfer errors of every loss on the held-out batch, models in eval mode."""
        distiller = model.distiller
        was_training = model.training
        model.eval()
        try:
            data = model.data_preprocessor(self._held_out_batch, False)
            with distiller.student_recorders:
                model.student(data['inputs'], data['data_samples'], mode='tensor')
            with distiller.teacher_recorders:
                model.teacher(data['inputs'], data['data_samples'], mode='tensor')
            errors: Dict[str, float] = {}
            for name, loss in losses.items():
                feats_S, feats_T = self._loss_inputs(distiller, name, loss)
                landmarks = (loss.landmarks_student.to(feats_S.dtype),
                             loss.landmarks_teacher.to(feats_S.dtype))
                errors[f'{name}/transfer_error'] = kernel_transfer_error(
                    feats_S, feats_T).item()
                errors[f'{name}/landmark_transfer_error'] = landmark_transfer_error(
                    feats_S, feats_T, *landmarks).item()
        finally:
            model.train(was_training)
        return errors

    @staticmethod
    def _loss_inputs(distiller: nn.Module, name: str,
                     loss: KDALoss) -> Tuple[torch.Tensor, torch.Tensor]:
        mapping = distiller.loss_forward_mappings.get(name)
        if mapping is None or not {'preds_S', 'preds_T'} <= set(mapping):
            raise KeyError(f"KDALandmarkHook: the distiller's loss_forward_mappings has no "
                           f"preds_S / preds_T entry for the KDA loss '{name}'")
        return loss.pooled_features(distiller.get_record(**mapping['preds_S']),
                                    distiller.get_record(**mapping['preds_T']))
