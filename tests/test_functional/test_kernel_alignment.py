"""Tests of the shared CKA core ``linear_cka`` against explicit Gram matrices."""
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmrazor_relkd.functional import kernel_alignment
from mmrazor_relkd.functional.kernel_alignment import linear_cka, linear_cka_pair

# (n, d1, d2) shapes whose cheaper form is the n x n one, resp. the d x d one.
N_SPACE_SHAPE = (5, 7, 9)
D_SPACE_SHAPE = (20, 3, 4)
OPTIONS = [dict(centered=c, row_norm=r) for c in (False, True) for r in (False, True)]


def reference_cka(x: torch.Tensor, y: torch.Tensor, centered: bool = False,
                  row_norm: bool = False) -> torch.Tensor:
    """Slow float64 CKA of two (n, d) matrices: explicit Gram and centering matrices."""
    x, y = x.double(), y.double()
    n = x.shape[0]
    grams = [x @ x.T, y @ y.T]
    if centered:
        h = torch.eye(n, dtype=torch.float64) - torch.ones(n, n, dtype=torch.float64) / n
        grams = [h @ k @ h for k in grams]
    if row_norm:
        grams = [k / torch.sqrt(torch.diagonal(k))[:, None] for k in grams]
    k_x, k_y = grams
    return (k_x * k_y).sum() / (torch.sqrt((k_x * k_x).sum()) * torch.sqrt((k_y * k_y).sum()))


def reference_batched(x: torch.Tensor, y: torch.Tensor, **options) -> torch.Tensor:
    """``reference_cka`` for every group of (G, n, d) inputs, one by one."""
    return torch.stack([reference_cka(x[g], y[g], **options) for g in range(x.shape[0])])


def test_cost_model_picks_each_space():
    assert kernel_alignment._use_n_space(*N_SPACE_SHAPE)
    assert not kernel_alignment._use_n_space(*D_SPACE_SHAPE)


@pytest.mark.parametrize('shape', [N_SPACE_SHAPE, D_SPACE_SHAPE])
@pytest.mark.parametrize('options', OPTIONS)
@pytest.mark.parametrize('force_n_space', [None, True, False])
def test_matches_reference_in_both_spaces(shape, options, force_n_space, monkeypatch):
    if force_n_space is not None:
        monkeypatch.setattr(kernel_alignment, '_use_n_space', lambda *_: force_n_space)
    torch.manual_seed(0)
    n, d1, d2 = shape
    x = torch.randn(3, n, d1, dtype=torch.float64)
    y = torch.randn(3, n, d2, dtype=torch.float64) + 0.5
    expected = reference_batched(x, y, **options)
    torch.testing.assert_close(linear_cka(x, y, **options), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('options', OPTIONS)
def test_transposed_inter_term_matches_reference(options):
    torch.manual_seed(1)
    x = torch.randn(2, 4, 11, dtype=torch.float64)
    y = torch.randn(2, 4, 11, dtype=torch.float64)
    expected = torch.stack([reference_cka(x[g].T, y[g].T, **options) for g in range(2)])
    torch.testing.assert_close(linear_cka(x.mT, y.mT, **options), expected)


@pytest.mark.parametrize('shape', [(4, 11), (11, 4)])  # n < d and n > d
@pytest.mark.parametrize('options', OPTIONS)
def test_pair_matches_reference_values_and_gradients(shape, options):
    torch.manual_seed(8)
    x = torch.randn(2, *shape, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, *shape, dtype=torch.float64) + 0.3
    intra, inter = linear_cka_pair(x, y, **options)
    (grad, ) = torch.autograd.grad((intra + 2 * inter).sum(), x)
    x_ref = x.detach().clone().requires_grad_()
    ref_intra = reference_batched(x_ref, y, **options)
    ref_inter = torch.stack([reference_cka(x_ref[g].T, y[g].T, **options) for g in range(2)])
    (ref_grad, ) = torch.autograd.grad((ref_intra + 2 * ref_inter).sum(), x_ref)
    torch.testing.assert_close(intra, ref_intra)
    torch.testing.assert_close(inter, ref_inter)
    torch.testing.assert_close(grad, ref_grad)


@pytest.mark.parametrize('shape', [(4, 11), (11, 4)])
def test_pair_gradcheck_and_zero_groups(shape):
    torch.manual_seed(9)
    x = torch.randn(2, *shape, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, *shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: torch.stack(linear_cka_pair(a, b)), (x, y))
    zero = torch.zeros(2, *shape, requires_grad=True)
    intra, inter = linear_cka_pair(zero, y.detach().float())
    (intra + inter).sum().backward()
    assert intra.abs().sum() == 0 and inter.abs().sum() == 0
    assert torch.isfinite(zero.grad).all()


def test_pair_needs_equal_widths():
    with pytest.raises(ValueError, match='same groups and rows'):
        linear_cka_pair(torch.randn(4, 5), torch.randn(4, 6))


class _RecordShapes(TorchDispatchMode):
    """Records the shape of every tensor an aten op returns."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for item in out if isinstance(out, (tuple, list)) else (out, ):
            if isinstance(item, torch.Tensor):
                self.shapes.append(tuple(item.shape))
        return out


@pytest.mark.parametrize('options', OPTIONS)
@pytest.mark.parametrize('function', ['linear_cka', 'linear_cka_pair'])
def test_transposed_term_never_builds_a_d_by_d_matrix(options, function):
    n, d = 6, 40
    x = torch.randn(3, n, d, requires_grad=True)
    y = torch.randn(3, n, d)
    with _RecordShapes() as recorder:
        if function == 'linear_cka':
            linear_cka(x.mT, y.mT, **options).sum().backward()
        else:
            torch.stack(linear_cka_pair(x, y, **options)).sum().backward()
    assert not [s for s in recorder.shapes if len(s) >= 2 and s[-1] == d and s[-2] == d]
    assert (3, n, n) in recorder.shapes


@pytest.mark.parametrize('shape', [N_SPACE_SHAPE, D_SPACE_SHAPE])
@pytest.mark.parametrize('options', OPTIONS)
def test_gradcheck(shape, options):
    torch.manual_seed(2)
    n, d1, d2 = shape
    x = torch.randn(2, n, d1, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, n, d2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: linear_cka(a, b, **options), (x, y))


@pytest.mark.parametrize('shape', [N_SPACE_SHAPE, D_SPACE_SHAPE])
def test_second_order_gradients(shape):
    """The one-product Gram backward is itself differentiable (e.g. gradient norms)."""
    torch.manual_seed(10)
    n, d1, d2 = shape
    x = torch.randn(2, n, d1, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, n, d2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(linear_cka, (x, y))


@pytest.mark.parametrize('shape', [N_SPACE_SHAPE, D_SPACE_SHAPE])
@pytest.mark.parametrize('options', OPTIONS)
def test_gradient_matches_reference(shape, options):
    torch.manual_seed(3)
    n, d1, d2 = shape
    x = torch.randn(2, n, d1, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, n, d2, dtype=torch.float64)
    (grad, ) = torch.autograd.grad(linear_cka(x, y, **options).sum(), x)
    x_ref = x.detach().clone().requires_grad_()
    (expected, ) = torch.autograd.grad(reference_batched(x_ref, y, **options).sum(), x_ref)
    torch.testing.assert_close(grad, expected)


@pytest.mark.parametrize('options', OPTIONS)
def test_identical_inputs_align_to_one_and_scaling_is_ignored(options):
    torch.manual_seed(4)
    x = torch.randn(3, 6, 5, dtype=torch.float64)
    y = torch.randn(3, 6, 8, dtype=torch.float64)
    torch.testing.assert_close(linear_cka(x, x, **options),
                               torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(linear_cka(7.5 * x, 0.01 * y, **options),
                               linear_cka(x, y, **options))


@pytest.mark.parametrize('options', OPTIONS)
def test_invariant_to_orthogonal_column_rotation(options):
    torch.manual_seed(5)
    x = torch.randn(2, 6, 5, dtype=torch.float64)
    y = torch.randn(2, 6, 4, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))
    torch.testing.assert_close(linear_cka(x @ rotation, y, **options),
                               linear_cka(x, y, **options))


def test_uncentered_differs_from_centered():
    torch.manual_seed(6)
    x = torch.randn(6, 5, dtype=torch.float64) + 3.0
    y = torch.randn(6, 4, dtype=torch.float64)
    assert not torch.allclose(linear_cka(x, y), linear_cka(x, y, centered=True))


@pytest.mark.parametrize('shape', [N_SPACE_SHAPE, D_SPACE_SHAPE])
@pytest.mark.parametrize('centered', [False, True])
def test_zero_and_constant_groups_give_zero_with_finite_gradient(shape, centered):
    n, d1, d2 = shape
    x = torch.zeros(2, n, d1)
    x[1] = 3.0  # a constant group: all-zero once centred
    x.requires_grad_()
    y = torch.randn(2, n, d2)
    value = linear_cka(x, y, centered=centered)
    value.sum().backward()
    expected = torch.tensor([0.0, 0.0 if centered else reference_cka(x[1], y[1]).item()])
    torch.testing.assert_close(value, expected)
    assert torch.isfinite(x.grad).all()


def test_float32_large_values_stay_finite_and_accurate():
    torch.manual_seed(7)
    x = torch.randn(2, 8, 30, dtype=torch.float64)
    y = torch.randn(2, 8, 20, dtype=torch.float64)
    value = linear_cka((1e15 * x).float(), (1e-15 * y).float())
    torch.testing.assert_close(value, linear_cka(x, y).float(), rtol=1e-5, atol=1e-6)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r'expects \(\.\.\., n, d\) matrices'):
        linear_cka(torch.randn(5), torch.randn(5, 2))
    with pytest.raises(ValueError, match='same groups and rows'):
        linear_cka(torch.randn(2, 5, 3), torch.randn(2, 4, 3))
