"""AffinityLoss (mAKD): all 80 variants against a loop reference, the published methods
it contains (SP, RKD-distance, CC), mmrazor's DistanceWiseRKD, gradcheck, invariances,
precision and errors."""
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.models.losses import DistanceWiseRKD
from mmrazor.registry import MODELS
from mmrazor_relkd.functional.affinity import (AFFINITIES, AFFINITY_LOSSES, NORMALIZATIONS,
                                               affinity_distillation_loss)
from mmrazor_relkd.models.losses.affinity_loss import AffinityLoss

VARIANTS = list(itertools.product(AFFINITIES, NORMALIZATIONS, AFFINITY_LOSSES))


def _features(seed: int = 0, batch: int = 5, dtype: torch.dtype = torch.float64):
    """Student (batch, 3, 2) and teacher (batch, 7) features: same samples, other sizes."""
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(batch, 3, 2, generator=gen, dtype=dtype)
    teacher = torch.randn(batch, 7, generator=gen, dtype=dtype)
    return student, teacher


# ----------------------------------------------------------------- slow references
def _reference_affinity(z, affinity):
    """g(z_i, z_j) entry by entry (Eq. 4-7) of a list of feature rows."""
    rows = []
    for z_i in z:
        row = []
        for z_j in z:
            if affinity == 'l1':
                row.append(sum(abs(a - b) for a, b in zip(z_i, z_j)))
            elif affinity == 'l2':
                row.append(math.sqrt(sum((a - b) ** 2 for a, b in zip(z_i, z_j))))
            else:
                dot = sum(a * b for a, b in zip(z_i, z_j))
                if affinity == 'cs':
                    dot /= math.sqrt(sum(a * a for a in z_i) * sum(b * b for b in z_j))
                row.append(dot)
        rows.append(row)
    return rows


def _reference_normalize(g, normalize, affinity):
    b = len(g)
    if normalize == 'none':
        return g
    if normalize == 'l1':
        return [[v / sum(abs(x) for x in row) for v in row] for row in g]
    if normalize == 'l2':
        return [[v / math.sqrt(sum(x * x for x in row)) for v in row] for row in g]
    if normalize == 'max':
        top = max(max(row) for row in g)
        return [[v / top for v in row] for row in g]
    # avg: mean pairwise affinity; distance matrices average their b(b-1) distinct pairs
    pairs = b * (b - 1) if affinity in ('l1', 'l2') else b * b
    mean = sum(sum(row) for row in g) / pairs
    return [[v / mean for v in row] for row in g]


def _reference_discrepancy(g_s, g_t, loss):
    b = len(g_s)
    if loss == 'kl':
        total = 0.0
        for row_s, row_t in zip(g_s, g_t):
            z_s = sum(math.exp(v) for v in row_s)
            z_t = sum(math.exp(v) for v in row_t)
            for s, t in zip(row_s, row_t):
                p_s, p_t = math.exp(s) / z_s, math.exp(t) / z_t
                total += p_t * math.log(p_t / p_s)
        return total / b
    total = 0.0
    for row_s, row_t in zip(g_s, g_t):
        for s, t in zip(row_s, row_t):
            d = abs(s - t)
            total += {'l1': d, 'l2': d * d,
                      'sl1': 0.5 * d * d if d < 1 else d - 0.5}[loss]
    return total / (b * b)


def reference_makd(student, teacher, affinity, normalize, loss):
    """mAKD in plain Python floats, entry by entry."""
    g_s, g_t = (_reference_normalize(
        _reference_affinity(z.reshape(z.shape[0], -1).tolist(), affinity), normalize,
        affinity) for z in (student, teacher))
    return _reference_discrepancy(g_s, g_t, loss)


def reference_sp(student, teacher):
    """Similarity-preserving KD (Tung & Mori 2019, Eq. 2-4) for one layer pair."""
    b = student.shape[0]
    q_s, q_t = student.reshape(b, -1), teacher.reshape(b, -1)
    g_s = F.normalize(q_s @ q_s.t(), p=2, dim=1)
    g_t = F.normalize(q_t @ q_t.t(), p=2, dim=1)
    return (g_t - g_s).pow(2).sum() / b ** 2


def reference_rkd_distance(student, teacher):
    """RKD distance-wise loss (Park et al. 2019, Eq. 5-7): distances over the mean
    distance of the distinct pairs, Huber (delta 1), averaged over the b x b entries as
    in the authors' code (``F.smooth_l1_loss(..., reduction='elementwise_mean')``)."""
    b = student.shape[0]

    def psi(z):
        z = z.reshape(b, -1)
        d = torch.stack([torch.stack([(z[i] - z[j]).norm() if i != j else z.new_zeros(())
                                      for j in range(b)]) for i in range(b)])
        mu = d.sum() / (b * (b - 1))
        return d / mu

    diff = (psi(student) - psi(teacher)).abs()
    huber = torch.where(diff < 1, 0.5 * diff ** 2, diff - 0.5)
    return huber.mean()


def reference_cc_bilinear(student, teacher):
    """Correlation congruence with the bilinear-pool kernel (Peng et al. 2019, Eq. 7)."""
    b = student.shape[0]
    f_s, f_t = student.reshape(b, -1), teacher.reshape(b, -1)
    return ((f_t @ f_t.t()) - (f_s @ f_s.t())).pow(2).sum() / b ** 2


# ----------------------------------------------------------------------- tests
def test_built_from_registry_with_paper_defaults():
    loss = MODELS.build(dict(type='AffinityLoss', loss_weight=3.0))
    assert isinstance(loss, AffinityLoss)
    assert (loss.affinity, loss.normalize, loss.loss, loss.loss_weight) == \
        ('cs', 'l2', 'sl1', 3.0)


def test_grid_has_80_variants():
    assert len(VARIANTS) == 80 == len(set(VARIANTS))


@pytest.mark.parametrize('affinity,normalize,loss', VARIANTS)
def test_variant_matches_loop_reference(affinity, normalize, loss):
    student, teacher = _features()
    value = AffinityLoss(affinity, normalize, loss, loss_weight=2.0)(student, teacher)
    ref = reference_makd(student, teacher, affinity, normalize, loss)
    assert value.shape == () and torch.isfinite(value)
    assert value.item() == pytest.approx(2.0 * ref, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize('affinity,normalize,loss', VARIANTS)
def test_variant_zero_for_identical_features(affinity, normalize, loss):
    student, _ = _features(seed=1)
    value = AffinityLoss(affinity, normalize, loss)(student, student.clone())
    assert value.abs().item() < 1e-12


@pytest.mark.parametrize('affinity,normalize,loss', VARIANTS)
def test_variant_finite_in_float32_with_duplicate_and_zero_rows(affinity, normalize, loss):
    student, teacher = _features(seed=2, dtype=torch.float32)
    student[1] = student[0]       # duplicate sample: zero distance off the diagonal
    teacher[3] = 0.0              # all-zero features: zero norm
    student.requires_grad_(True)
    value = AffinityLoss(affinity, normalize, loss)(student, teacher)
    (grad,) = torch.autograd.grad(value, student)
    assert torch.isfinite(value) and torch.isfinite(grad).all()


@pytest.mark.parametrize('affinity,normalize,loss', [
    ('l1', 'l1', 'l1'), ('l1', 'avg', 'kl'), ('l1', 'max', 'sl1'),
    ('l2', 'l2', 'kl'), ('l2', 'avg', 'sl1'), ('l2', 'none', 'l2'),
    ('ip', 'l2', 'l2'), ('ip', 'max', 'kl'), ('ip', 'none', 'sl1'), ('ip', 'avg', 'l1'),
    ('cs', 'l2', 'sl1'), ('cs', 'l1', 'kl'), ('cs', 'none', 'l1'), ('cs', 'max', 'l2'),
])
def test_gradcheck(affinity, normalize, loss):
    student, teacher = _features(seed=3, batch=4)
    student = student.reshape(4, -1).clone().requires_grad_(True)
    module = AffinityLoss(affinity, normalize, loss, loss_weight=0.7)
    assert torch.autograd.gradcheck(lambda s: module(s, teacher), (student,))


def test_sp_is_ip_l2_l2():
    student, teacher = _features(seed=4)
    torch.testing.assert_close(AffinityLoss('ip', 'l2', 'l2')(student, teacher),
                               reference_sp(student, teacher), rtol=1e-12, atol=0)


def test_rkd_distance_is_l2_avg_sl1():
    student, teacher = _features(seed=5)
    torch.testing.assert_close(AffinityLoss('l2', 'avg', 'sl1')(student, teacher),
                               reference_rkd_distance(student, teacher),
                               rtol=1e-12, atol=0)


def test_cc_bilinear_is_ip_none_l2():
    student, teacher = _features(seed=6)
    torch.testing.assert_close(AffinityLoss('ip', 'none', 'l2')(student, teacher),
                               reference_cc_bilinear(student, teacher),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize('with_l2_norm', [True, False])
def test_mmrazor_distance_wise_rkd_relation(with_l2_norm):
    """``DistanceWiseRKD(w, with_l2_norm)`` = ``AffinityLoss('l2', 'avg', 'sl1', w)`` on
    the (L2-normalised when ``with_l2_norm``) flattened features. mmrazor averages the
    distances ``d > 0`` (the distinct pairs), uses ``F.smooth_l1_loss`` (beta 1, mean over
    the B x B entries) and clamps squared distances at 1e-12 (no effect here)."""
    student, teacher = _features(seed=7, batch=8)
    rkd = DistanceWiseRKD(loss_weight=25.0, with_l2_norm=with_l2_norm)
    s, t = student.reshape(8, -1), teacher
    if with_l2_norm:
        s, t = F.normalize(s, dim=1), F.normalize(t, dim=1)
    ours = AffinityLoss('l2', 'avg', 'sl1', loss_weight=25.0)(s, t)
    torch.testing.assert_close(ours, rkd(student.reshape(8, -1), teacher),
                               rtol=1e-9, atol=0)


@pytest.mark.parametrize('affinity,normalize,loss', VARIANTS)
def test_scale_and_translation_invariances(affinity, normalize, loss):
    """Normalised affinities forget the feature scale (and cs always does); distance
    affinities forget a common translation; every variant is invariant to relabelling
    the samples (the same permutation on both sides)."""
    student, teacher = _features(seed=8)
    shift = torch.randn(3, 2, generator=torch.Generator().manual_seed(14),
                        dtype=torch.float64)
    perm = torch.tensor([3, 0, 4, 1, 2])
    module = AffinityLoss(affinity, normalize, loss)
    base = module(student, teacher)
    torch.testing.assert_close(module(student[perm], teacher[perm]), base)
    if normalize != 'none' or affinity == 'cs':
        torch.testing.assert_close(module(3.0 * student, 0.2 * teacher), base)
    if affinity in ('l1', 'l2'):
        torch.testing.assert_close(module(student + shift, teacher), base)


def test_functional_is_batched_over_groups():
    gen = torch.Generator().manual_seed(9)
    student = torch.randn(2, 3, 5, 4, generator=gen, dtype=torch.float64)
    teacher = torch.randn(2, 3, 5, 6, generator=gen, dtype=torch.float64)
    for affinity, normalize, loss in [('l1', 'avg', 'kl'), ('cs', 'l2', 'sl1'),
                                      ('ip', 'max', 'l2'), ('l2', 'l1', 'l1')]:
        batched = affinity_distillation_loss(student, teacher, affinity, normalize, loss)
        looped = torch.stack([torch.stack([
            affinity_distillation_loss(student[i, j], teacher[i, j], affinity, normalize,
                                       loss) for j in range(3)]) for i in range(2)])
        assert batched.shape == (2, 3)
        torch.testing.assert_close(batched, looped, rtol=1e-12, atol=1e-15)


def test_teacher_is_detached():
    student, teacher = _features(seed=10)
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    loss = AffinityLoss()(student, teacher)
    grad_s, grad_t = torch.autograd.grad(loss, (student, teacher), allow_unused=True)
    assert grad_t is None and grad_s.abs().sum() > 0


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_inputs_compute_in_float32(dtype):
    student, teacher = _features(seed=11)
    module = AffinityLoss('ip', 'avg', 'kl')
    value = module(student.to(dtype), teacher.to(dtype))
    assert value.dtype == torch.float32
    ref = module(student.to(dtype).double(), teacher.to(dtype).double())
    torch.testing.assert_close(value.double(), ref, rtol=1e-5, atol=1e-7)


def test_autocast_returns_float32_and_float64_stays_float64():
    student, teacher = _features(seed=12)
    module = AffinityLoss()
    assert module(student, teacher).dtype == torch.float64
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        value = module(student.float(), teacher.float())
    assert value.dtype == torch.float32
    torch.testing.assert_close(value.double(), module(student.float().double(),
                                                      teacher.float().double()),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('kwargs,match', [
    (dict(affinity='rbf'), "affinity must be one of"),
    (dict(normalize='softmax'), "normalize must be one of"),
    (dict(loss='mse'), "loss must be one of"),
])
def test_unknown_module_names_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AffinityLoss(**kwargs)


def test_batch_mismatch_raises():
    student, teacher = _features(seed=13)
    with pytest.raises(ValueError, match='same batch.*5 student and 4 teacher'):
        AffinityLoss()(student, teacher[:4])
    with pytest.raises(ValueError, match='batched features'):
        AffinityLoss()(torch.tensor(1.0), torch.tensor(1.0))
    with pytest.raises(ValueError, match='same samples'):
        affinity_distillation_loss(torch.randn(2, 5, 3), torch.randn(3, 5, 3))
