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


def test_pinv_nystrom_reconstructs_the_kernel_of_landmarks_in_the_span():
    """With the data as landmarks, C W^+ C^T is the exact Gram matrix (Nystrom)."""
    x = _randn(5, 3)
    k_tilde = (x @ x.T) @ torch.linalg.pinv(x @ x.T) @ (x @ x.T)
    torch.testing.assert_close(k_tilde, x @ x.T)
    assert landmark_kernel_loss(x, x, x, x, 'pinv').item() == pytest.approx(0, abs=1e-12)


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
