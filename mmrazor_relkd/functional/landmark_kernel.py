"""Landmark (Nystrom) kernel transfer of KDA: the loss, its Nystrom forms, diagnostics.

Qian et al., *Improved Knowledge Distillation via Full Kernel Matrix Transfer*
(SDM 2022), Sec. 3.2-3.3. For features ``X_S`` (N x d_S), ``X_T`` (N x d_T) and
landmarks ``D_S`` (L x d_S), ``D_T`` (L x d_T) the partial Gram matrices against the
landmarks are ``C_S = X_S D_S^T`` and ``C_T = X_T D_T^T`` (N x L), and the landmark
Gram matrices ``W_S = D_S D_S^T``, ``W_T = D_T D_T^T`` (L x L). The full Gram matrix
``K = X X^T`` is approximated by Nystrom as ``C W^+ C^T``.

Loss (Eq. 3.4, the authors' code; ``nystrom=None``)::

    sum_ij smoothL1(C_S - C_T)_ij / ||C_T||_F          (smooth-L1 with beta = 1)

Nystrom forms (Cor. 1, Fig. 5), the same smooth-L1 sum over ``A_S - A_T`` divided by
``||A_T||_F``:

* ``'pinv'``: ``A = C W^+ C^T`` (N x N), each side with its own ``W`` (Cor. 1).
* ``'inv_sqrt'``: ``A = C W_T^{+1/2}`` (N x L): the Nystrom feature map whose Gram
  matrix is ``C W_T^+ C^T``, with the teacher's ``W_T`` on both sides, the variant the
  paper reports as the better one (Sec. 4.1.3); using a fixed teacher matrix avoids the
  noise of the student's unstable ``W_S`` early in training.

Pseudo-inverse powers drop eigenvalues below ``L * eps(dtype) * lambda_max``, as
``torch.linalg.pinv`` does.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

NYSTROM_FORMS = (None, 'pinv', 'inv_sqrt')
_TINY = 1e-12


def landmark_gram_pinv_power(landmarks: Tensor, power: float) -> Tensor:
    """``(D D^T)^{+power}``: a power of the pseudo-inverse of the landmark Gram matrix.

    Args:
        landmarks: ``D``, ``(L, d)``.
        power: ``1`` for the pseudo-inverse ``W^+``, ``0.5`` for ``W^{+1/2}``.

    Returns:
        ``(L, L)`` symmetric matrix in the dtype of ``landmarks`` (computed in float64).
    """
    gram = landmarks.double() @ landmarks.double().T
    eigenvalues, eigenvectors = torch.linalg.eigh(gram)
    cutoff = gram.shape[-1] * torch.finfo(landmarks.dtype).eps * eigenvalues.amax().clamp_min(0)
    kept = eigenvalues > cutoff
    scale = torch.where(kept, eigenvalues.clamp_min(_TINY).pow(-power),
                        torch.zeros_like(eigenvalues))
    return ((eigenvectors * scale) @ eigenvectors.T).to(landmarks.dtype)


def nystrom_operators(landmarks_S: Tensor, landmarks_T: Tensor,
                      nystrom: str) -> Tuple[Tensor, Tensor]:
    """The ``(L, L)`` matrices that the Nystrom form ``nystrom`` applies to ``C_S``, ``C_T``.

    ``'pinv'`` gives ``(W_S^+, W_T^+)``; ``'inv_sqrt'`` gives ``(W_T^{+1/2}, W_T^{+1/2})``.
    """
    if nystrom == 'pinv':
        return (landmark_gram_pinv_power(landmarks_S, 1.0),
                landmark_gram_pinv_power(landmarks_T, 1.0))
    if nystrom == 'inv_sqrt':
        operator = landmark_gram_pinv_power(landmarks_T, 0.5)
        return operator, operator
    raise ValueError(f'nystrom must be one of {NYSTROM_FORMS}, got {nystrom!r}')


def landmark_kernel_loss(feats_S: Tensor, feats_T: Tensor, landmarks_S: Tensor,
                         landmarks_T: Tensor, nystrom: Optional[str] = None,
                         operators: Optional[Tuple[Tensor, Tensor]] = None) -> Tensor:
    """Unweighted KDA loss (module docstring) of one batch.

    Args:
        feats_S: ``X_S``, ``(N, d_S)``.
        feats_T: ``X_T``, ``(N, d_T)``; detach it first if the teacher must get no gradient.
        landmarks_S: ``D_S``, ``(L, d_S)``.
        landmarks_T: ``D_T``, ``(L, d_T)``.
        nystrom: ``None`` (``C`` itself), ``'pinv'`` or ``'inv_sqrt'``.
        operators: the output of :func:`nystrom_operators` for these landmarks, to reuse a
            precomputed pair; computed here when ``None`` and ``nystrom`` is set.

    Returns:
        Scalar tensor in the dtype of the features. An all-zero teacher kernel (no
        landmark ever seen) is divided by ``1e-12`` instead of 0, so it gives 0 when the
        student kernel is zero too.
    """
    partial_S = feats_S @ landmarks_S.T
    partial_T = feats_T @ landmarks_T.T
    if nystrom is None:
        kernel_S, kernel_T = partial_S, partial_T
    else:
        op_S, op_T = operators if operators is not None else nystrom_operators(
            landmarks_S, landmarks_T, nystrom)
        kernel_S = partial_S @ op_S
        kernel_T = partial_T @ op_T
        if nystrom == 'pinv':
            kernel_S = kernel_S @ partial_S.T
            kernel_T = kernel_T @ partial_T.T
    difference = F.smooth_l1_loss(kernel_S, kernel_T, reduction='sum', beta=1.0)
    return difference / torch.linalg.matrix_norm(kernel_T).clamp_min(_TINY)


def kernel_transfer_error(feats_S: Tensor, feats_T: Tensor) -> Tensor:
    """``||K_S - K_T||_F / ||K_T||_F`` with ``K = X X^T``: the part of the teacher's Gram
    matrix the student has not picked up (paper Fig. 2/3, lower is better)."""
    gram_S = feats_S @ feats_S.T
    gram_T = feats_T @ feats_T.T
    return (torch.linalg.matrix_norm(gram_S - gram_T)
            / torch.linalg.matrix_norm(gram_T).clamp_min(_TINY))


def landmark_transfer_error(feats_S: Tensor, feats_T: Tensor, landmarks_S: Tensor,
                            landmarks_T: Tensor) -> Tensor:
    """``||C_S - C_T||_F / ||K_T||_F``: the paper's estimate of the transfer error from the
    partial Gram matrices (Fig. 3)."""
    gram_T = feats_T @ feats_T.T
    return (torch.linalg.matrix_norm(feats_S @ landmarks_S.T - feats_T @ landmarks_T.T)
            / torch.linalg.matrix_norm(gram_T).clamp_min(_TINY))


def landmark_gram_min_eigenvalue(landmarks: Tensor) -> Tensor:
    """Smallest eigenvalue of ``W = D D^T`` (Theorem 2 assumes it exceeds 1; Fig. 4)."""
    return torch.linalg.eigvalsh(landmarks.double() @ landmarks.double().T)[0].to(
        landmarks.dtype)
