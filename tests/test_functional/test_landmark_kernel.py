"""Landmark kernel math of KDA against plain formulas: loss, Nystrom operators,
transfer diagnostics."""
import math

import pytest
import torch

from mmrazor_relkd.functional.landmark_kernel import (kernel_transfer_error,
                                                      landmark_gram_min_eigenvalue,
                                                      landmark_gram_pinv_power,
                                                      landmark_kernel_loss,
                                                      landmark_transfer_error,
                                                      nystrom_operators)


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed),
                       dtype=torch.float64)


def test_loss_is_smooth_l1_sum_over_teacher_norm():
    x_s, x_t, d_s, d_t = _randn(5, 3), _randn(5, 4, seed=1), _randn(2, 3, seed=2), \
        _randn(2, 4, seed=3)
    total, norm = 0.0, 0.0
    for i in range(5):
        for j in range(2):
            c_s = float(x_s[i] @ d_s[j])
            c_t = float(x_t[i] @ d_t[j])
            z = c_s - c_t
            total += 0.5 * z * z if abs(z) < 1 else abs(z) - 0.5
            norm += c_t ** 2
    assert landmark_kernel_loss(x_s, x_t, d_s, d_t).item() == pytest.approx(
        total / math.sqrt(norm), rel=1e-12)


def test_loss_is_zero_when_kernels_agree_and_invariant_to_rotations():
    x_t, d_t = _randn(6, 4), _randn(3, 4, seed=1)
    rotation, _ = torch.linalg.qr(_randn(4, 4, seed=2))
    # the student's features and landmarks rotated: same kernel x D^T
    assert landmark_kernel_loss(x_t @ rotation, x_t, d_t @ rotation, d_t).item() == \
        pytest.approx(0.0, abs=1e-12)
    x_s, d_s = _randn(6, 2, seed=3), _randn(3, 2, seed=4)
    torch.testing.assert_close(
        landmark_kernel_loss(x_s, x_t @ rotation, d_s, d_t @ rotation),
        landmark_kernel_loss(x_s, x_t, d_s, d_t))


def test_all_zero_landmarks_give_zero_not_nan():
    zeros = torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64)
    value = landmark_kernel_loss(_randn(4, 3), _randn(4, 2), *zeros)
    assert value.item() == 0.0


@pytest.mark.parametrize('nystrom', [None, 'pinv', 'inv_sqrt'])
def test_gradcheck(nystrom):
    x_s = _randn(4, 3).requires_grad_(True)
    x_t, d_s, d_t = _randn(4, 5, seed=1), _randn(3, 3, seed=2), _randn(3, 5, seed=3)
    assert torch.autograd.gradcheck(
        lambda x: landmark_kernel_loss(x, x_t, d_s, d_t, nystrom), (x_s, ))


@pytest.mark.parametrize('rows,cols', [(4, 6), (5, 2)])  # full rank and rank deficient
def test_pinv_powers(rows, cols):
    landmarks = _randn(rows, cols)
    gram = landmarks @ landmarks.T
    pinv = landmark_gram_pinv_power(landmarks, 1.0)
    torch.testing.assert_close(pinv, torch.linalg.pinv(gram, hermitian=True))
    root = landmark_gram_pinv_power(landmarks, 0.5)
    torch.testing.assert_close(root @ root, pinv)
    torch.testing.assert_close(root, root.T)


def test_nystrom_operators_pair():
    d_s, d_t = _randn(3, 4), _randn(3, 5, seed=1)
    pinv_s, pinv_t = nystrom_operators(d_s, d_t, 'pinv')
    torch.testing.assert_close(pinv_s, torch.linalg.pinv(d_s @ d_s.T))
    torch.testing.assert_close(pinv_t, torch.linalg.pinv(d_t @ d_t.T))
    root_s, root_t = nystrom_operators(d_s, d_t, 'inv_sqrt')
    torch.testing.assert_close(root_s, root_t)  # the teacher's W on both sides
    torch.testing.assert_close(root_t @ root_t, pinv_t)
    with pytest.raises(ValueError, match='nystrom must be one of'):
        nystrom_operators(d_s, d_t, 'inverse')


def _same_gram_pair():
    """Teacher (6, 3) and student (6, 5) features with the same Gram matrix, each with
    its own 4 landmarks whose rows span its features' row space (generic, rank 3).

    ``X_S = X_T B`` with orthonormal rows of ``B`` (3 x 5) keeps ``X X^T``;
    ``D_S = G_S B`` puts the student's landmarks in that span with other weights than
    the teacher's ``D_T = G_T``: the partial Gram matrices ``C = X D^T`` differ, the
    Nystrom kernels ``C W^+ C^T`` do not."""
    x_t = _randn(6, 3)
    basis = torch.linalg.qr(_randn(5, 3, seed=1)).Q.T
    d_t, d_s = _randn(4, 3, seed=2), _randn(4, 3, seed=3) @ basis
    return x_t @ basis, x_t, d_s, d_t


def test_pinv_nystrom_reconstructs_the_kernel_of_landmarks_in_the_span():
    """Landmarks spanning the features: C W^+ C^T is the exact Gram matrix X X^T
    (Nystrom), on each side with its own W^+. Student and teacher differ in width and
    landmarks, so only the W^+ of each side makes their kernels (and the loss) agree."""
    x_s, x_t, d_s, d_t = _same_gram_pair()
    pinv_s, pinv_t = nystrom_operators(d_s, d_t, 'pinv')
    for x, d, pinv in ((x_s, d_s, pinv_s), (x_t, d_t, pinv_t)):
        partial = x @ d.T
        torch.testing.assert_close(partial @ pinv @ partial.T, x_t @ x_t.T)
    assert landmark_kernel_loss(x_s, x_t, d_s, d_t, 'pinv').item() == \
        pytest.approx(0, abs=1e-12)
    # guard: without W^+ the kernels C C^T of the two sides differ
    assert landmark_kernel_loss(x_s, x_t, d_s, d_t).item() > 0.1
    c_s, c_t = x_s @ d_s.T, x_t @ d_t.T
    assert (c_s @ c_s.T - c_t @ c_t.T).abs().max() > 0.1


def test_pinv_nystrom_loss_against_plain_formula():
    """A student whose Gram matrix differs from the teacher's: the loss is the smooth-L1
    sum over C_S W_S^+ C_S^T - C_T W_T^+ C_T^T divided by the teacher kernel's norm."""
    x_s, x_t, d_s, d_t = _randn(6, 5, seed=4), _randn(6, 3), _randn(4, 5, seed=5), \
        _randn(4, 3, seed=2)
    kernels = []
    for x, d in ((x_s, d_s), (x_t, d_t)):
        partial = x @ d.T
        kernels.append(partial @ torch.linalg.pinv(d @ d.T) @ partial.T)
    total = 0.0
    for z in (kernels[0] - kernels[1]).flatten().tolist():
        total += 0.5 * z * z if abs(z) < 1 else abs(z) - 0.5
    expected = total / math.sqrt(sum(v * v for v in kernels[1].flatten().tolist()))
    assert landmark_kernel_loss(x_s, x_t, d_s, d_t, 'pinv').item() == pytest.approx(
        expected, rel=1e-10)


def test_transfer_errors():
    x_s, x_t, d_s, d_t = _randn(6, 3), _randn(6, 4, seed=1), _randn(2, 3, seed=2), \
        _randn(2, 4, seed=3)
    k_s, k_t = x_s @ x_s.T, x_t @ x_t.T
    expected = math.sqrt(((k_s - k_t) ** 2).sum()) / math.sqrt((k_t ** 2).sum())
    assert kernel_transfer_error(x_s, x_t).item() == pytest.approx(expected, rel=1e-12)
    assert kernel_transfer_error(x_t, x_t).item() == 0.0
    c_s, c_t = x_s @ d_s.T, x_t @ d_t.T
    expected = math.sqrt(((c_s - c_t) ** 2).sum()) / math.sqrt((k_t ** 2).sum())
    assert landmark_transfer_error(x_s, x_t, d_s, d_t).item() == pytest.approx(expected,
                                                                               rel=1e-12)


def test_min_eigenvalue_of_landmark_gram():
    landmarks = torch.tensor([[3., 0., 0.], [0., 2., 0.]], dtype=torch.float64)
    assert landmark_gram_min_eigenvalue(landmarks).item() == pytest.approx(4.0)
    assert landmark_gram_min_eigenvalue(torch.zeros(2, 3)).item() == 0.0
