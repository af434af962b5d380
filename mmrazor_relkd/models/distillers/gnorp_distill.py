"""GNoRP, GradNorm ratio preservation (Li & Maki, *Towards a Unified View of
Affinity-Based Knowledge Distillation*, Sec. 3.3, Eq. 15): a dynamic weight for the
distillation loss."""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import all_reduce
from mmengine.structures import BaseDataElement
from mmrazor.models.algorithms import SingleTeacherDistill
from mmrazor.registry import MODELS
from torch import Tensor, nn

_TINY = 1e-12


class GNoRPWeight(nn.Module):
    """The GNoRP weight ``lambda = exp(s)``, tuned by its own Adam on ``s = log lambda``.

    Every call takes the gradient norms ``g_main = ||dL_main/dz||`` and
    ``g_kd = ||dL_KD/dz||`` of the current batch and makes one Adam step on (Eq. 15)::

        L_GNoRP(s) = (r * g_main - exp(s) * g_kd)^2
        dL_GNoRP/ds = -2 (r * g_main - exp(s) * g_kd) exp(s) g_kd

    Optimising ``log lambda`` keeps ``lambda`` positive (the paper's choice, with
    PyTorch's default Adam). The Adam state lives in buffers: it moves with the model,
    is saved in checkpoints (exact resume) and needs no CPU sync.

    Args:
        ratio: the target ``r = ||d(lambda L_KD)/dz|| / ||dL_main/dz||`` (3.5 on
            CIFAR-100 in the paper, 1 as an uninformative prior).
        lr, betas, eps: Adam hyper-parameters (PyTorch's defaults).
        init_lambda: the starting ``lambda``; ``None`` solves Eq. 15 exactly on the first
            batch (``lambda = r * g_main / g_kd``, no Adam step on that batch), so the
            ratio holds from the first iteration.
    """

    def __init__(self, ratio: float = 1.0, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 init_lambda: Optional[float] = None) -> None:
        super().__init__()
        if ratio <= 0 or lr <= 0:
            raise ValueError(f'GNoRP needs ratio > 0 and lr > 0, got ratio={ratio}, '
                             f'lr={lr}')
        if init_lambda is not None and init_lambda <= 0:
            raise ValueError(f'GNoRP init_lambda must be positive (or None to solve it '
                             f'from the first batch), got {init_lambda}')
        self.ratio = ratio
        self.lr = lr
        self.betas = tuple(betas)
        self.eps = eps
        self.register_buffer('log_lambda', torch.tensor(math.log(init_lambda or 1.0)))
        self.register_buffer('initialized', torch.tensor(init_lambda is not None))
        self.register_buffer('exp_avg', torch.zeros(()))
        self.register_buffer('exp_avg_sq', torch.zeros(()))
        self.register_buffer('step', torch.zeros(()))

    @torch.no_grad()
    def forward(self, grad_norm_main: Tensor, grad_norm_kd: Tensor) -> Tuple[Tensor, Tensor]:
        """One Adam step on Eq. 15; returns ``(lambda, measured ratio)`` where the
        ratio is ``lambda * g_kd / g_main`` with the updated ``lambda``."""
        g_main = grad_norm_main.to(self.log_lambda)
        g_kd = grad_norm_kd.to(self.log_lambda)
        # the first call without init_lambda solves Eq. 15 and makes no Adam step (an
        # Adam step on the rounding residual would move log lambda by a full lr)
        adam = self.initialized.clone()
        solved = torch.log(self.ratio * g_main.clamp_min(_TINY) / g_kd.clamp_min(_TINY))
        self.log_lambda.copy_(torch.where(adam, self.log_lambda, solved))
        self.initialized.fill_(True)

        lam = self.log_lambda.exp()
        grad = -2 * (self.ratio * g_main - lam * g_kd) * lam * g_kd * adam
        beta1, beta2 = self.betas
        self.step.add_(adam.to(self.step.dtype))
        one = self.exp_avg.new_ones(())
        self.exp_avg.mul_(torch.where(adam, one * beta1, one)).add_((1 - beta1) * grad)
        self.exp_avg_sq.mul_(torch.where(adam, one * beta2, one)).add_(
            (1 - beta2) * grad.square())
        step = self.step.clamp_min(1)
        exp_avg_hat = self.exp_avg / (1 - beta1 ** step)
        exp_avg_sq_hat = self.exp_avg_sq / (1 - beta2 ** step)
        self.log_lambda.sub_(self.lr * exp_avg_hat / (exp_avg_sq_hat.sqrt() + self.eps))

        lam = self.log_lambda.exp()
        return lam, lam * g_kd / g_main.clamp_min(_TINY)

    def extra_repr(self) -> str:
        return f'ratio={self.ratio}, lr={self.lr}, betas={self.betas}, eps={self.eps}'


def _grad_norm(loss: Tensor, features: Sequence[Tensor], what: str) -> Tensor:
    """``||d loss / d features||_2`` over all feature tensors, keeping the graph."""
    grads = torch.autograd.grad(loss, features, retain_graph=True, allow_unused=True)
    grads = [g for g in grads if g is not None]
    if not grads:
        raise ValueError(
            f'GNoRP: the {what} does not depend on the recorded student features '
            f'gnorp.feature; record the features both the task head and the '
            f'distillation losses use (the penultimate features, e.g. '
            f"student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')))")
    return torch.stack([g.float().square().sum() for g in grads]).sum().sqrt()


def _sum_losses(values: Sequence[Union[Tensor, List[Tensor]]]) -> Tensor:
    """Sum loss entries the way mmengine's ``parse_losses`` does (lists are summed)."""
    return sum(v.mean() if isinstance(v, Tensor) else sum(x.mean() for x in v)
               for v in values)


@MODELS.register_module()
class GNoRPDistill(SingleTeacherDistill):
    """``SingleTeacherDistill`` whose distillation losses are weighted by GNoRP.

    Each iteration, with ``z`` the recorded student features (the paper: the
    penultimate features), ``L_main`` the student's task losses and ``L_KD`` the sum of
    the selected distillation losses (each with its own ``loss_weight``)::

        g_main = ||dL_main/dz||,  g_kd = ||dL_KD/dz||      (autograd, graph kept)
        lambda <- one Adam step on (r g_main - lambda g_kd)^2 over log lambda
        loss   = L_main + lambda * L_KD      (lambda detached: no gradient to it)

    so that ``||d(lambda L_KD)/dz|| = r ||dL_main/dz||``. ``lambda`` and the measured
    ratio ``lambda g_kd / g_main`` are returned as ``gnorp.lambda`` and ``gnorp.ratio``
    next to the losses: mmengine logs them every iteration and its
    ``RuntimeInfoHook`` puts them in the message hub (``train/gnorp.lambda``,
    ``train/gnorp.ratio``). Under data parallelism the two norms are averaged over the
    ranks first, so every rank keeps the same ``lambda``.

    Why an algorithm: Eq. 15 needs ``L_main``, ``L_KD`` and ``z`` as graph tensors
    before the backward pass. The distiller only sees the distillation losses (never
    the task loss), a hook only sees detached log values after the update, and an
    ``OptimWrapper`` only the summed loss. ``loss`` of the algorithm is the one place
    where all three exist, so GNoRP is a drop-in replacement of ``SingleTeacherDistill``
    that works with any distiller / distillation loss / teacher (e.g.
    :class:`TeacherEnsemble`). Its cost is two ``autograd.grad`` calls from the losses
    down to ``z`` (the head and the loss modules; not the backbone).

    Args:
        gnorp: ``dict(feature=dict(recorder=..., data_idx=None, record_idx=0),
            ratio=1.0, lr=1e-3, init_lambda=None, losses=None)``. ``feature`` names a
            student recorder of the distiller (its output may be a tensor or a tuple of
            tensors, e.g. FPN levels, whose gradient norms are pooled); ``losses`` the
            distillation losses to weight (``None``: all of them); the other keys go to
            :class:`GNoRPWeight`.
        *args, **kwargs: ``SingleTeacherDistill`` arguments.
    """

    def __init__(self, *args, gnorp: Dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        gnorp = dict(gnorp)
        if 'feature' not in gnorp:
            raise ValueError(
                "GNoRPDistill needs gnorp['feature'], the student recorder of the "
                "features z the gradient norms are taken at, e.g. "
                "gnorp=dict(ratio=3.5, feature=dict(recorder='feat', data_idx=0))")
        self.gnorp_feature = dict(gnorp.pop('feature'))
        recorder = self.gnorp_feature.get('recorder')
        if recorder not in self.distiller.student_recorders.recorders:
            raise ValueError(
                f'GNoRP feature recorder {recorder!r} is not a student recorder of the '
                f'distiller (have {sorted(self.distiller.student_recorders.recorders)})')
        losses = gnorp.pop('losses', None)
        names = list(self.distiller.distill_losses)
        if losses is not None:
            unknown = sorted(set(losses) - set(names))
            if unknown:
                raise ValueError(f'GNoRP losses {unknown} are not distillation losses of '
                                 f'the distiller (have {names})')
            names = list(losses)
        self.gnorp_losses = names
        self.gnorp = GNoRPWeight(**gnorp)

    def loss(self, batch_inputs: Tensor,
             data_samples: Optional[List[BaseDataElement]] = None) -> Dict:
        """Task and distillation losses, the latter weighted by the GNoRP ``lambda``."""
        losses = super().loss(batch_inputs, data_samples)
        kd_keys = [f'distill.{name}' for name in self.gnorp_losses
                   if f'distill.{name}' in losses]
        if not kd_keys:  # distillation stopped
            return losses
        main = _sum_losses([v for k, v in losses.items()
                            if k.startswith('student.') and 'loss' in k])
        kd = _sum_losses([losses[k] for k in kd_keys])
        features = self.distiller.get_record(from_student=True, **self.gnorp_feature)
        features = [features] if isinstance(features, Tensor) else list(features)
        norms = torch.stack([_grad_norm(main, features, 'student task loss'),
                             _grad_norm(kd, features, 'distillation loss')])
        all_reduce(norms, op='mean')
        lam, ratio = self.gnorp(norms[0], norms[1])
        for key in kd_keys:
            losses[key] = lam * losses[key]
        losses['gnorp.lambda'] = lam
        losses['gnorp.ratio'] = ratio
        return losses
