"""FKDLoss against a loop reference, ensembles (also through ``TeacherEnsemble`` in
mmrazor's distiller), gradcheck, invariances, precision, errors."""
import math

import pytest
import torch
from torch import nn

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.functional.feature_kernel import feature_kernel, feature_kernel_distance
from mmrazor_relkd.models.losses.fkd_loss import FKDLoss
from toy_classifier import ToyClassifier


def _features(seed: int = 0, batch: int = 5, dtype: torch.dtype = torch.float64):
    """Student (batch, 2, 3) and two teachers (batch, 4) and (batch, 6)."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, 2, 3, generator=gen, dtype=dtype),
            torch.randn(batch, 4, generator=gen, dtype=dtype),
            torch.randn(batch, 6, generator=gen, dtype=dtype))


def reference_fkd(student, teachers, kernel, loss_weight, feature_reg_weight):
    """FKD in plain Python floats: kernels entry by entry, mean teacher kernel."""
    def rows(z):
        return z.reshape(z.shape[0], -1).tolist()

    def k(z_i, z_j):
        dot = sum(a * b for a, b in zip(z_i, z_j))
        if kernel == 'correlation':
            dot /= math.sqrt(sum(a * a for a in z_i) * sum(b * b for b in z_j))
        return dot

    s = rows(student)
    ts = [rows(t) for t in teachers]
    b = len(s)
    total = 0.0
    for i in range(b):
        for j in range(b):
            target = sum(k(t[i], t[j]) for t in ts) / len(ts)
            total += (k(s[i], s[j]) - target) ** 2
    reg = sum(sum(a * a for a in row) for row in s) / b
    return loss_weight * total / (b * b) + feature_reg_weight * reg


def test_built_from_registry_with_recommended_defaults():
    loss = MODELS.build(dict(type='FKDLoss', loss_weight=2.0, feature_reg_weight=1e-3))
    assert isinstance(loss, FKDLoss)
    assert (loss.loss_weight, loss.kernel, loss.feature_reg_weight) == \
        (2.0, 'correlation', 1e-3)


@pytest.mark.parametrize('kernel', ['correlation', 'linear'])
@pytest.mark.parametrize('feature_reg_weight', [0.0, 0.05])
@pytest.mark.parametrize('num_teachers', [1, 2])
def test_matches_reference(kernel, feature_reg_weight, num_teachers):
    student, *teachers = _features()
    teachers = teachers[:num_teachers]
    preds_T = teachers[0] if num_teachers == 1 else teachers
    value = FKDLoss(1.5, kernel, feature_reg_weight)(student, preds_T)
    ref = reference_fkd(student, teachers, kernel, 1.5, feature_reg_weight)
    assert value.shape == ()
    assert value.item() == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize('kernel', ['correlation', 'linear'])
def test_gradcheck(kernel):
    student, t1, t2 = _features(seed=1, batch=4)
    student = student.reshape(4, -1).clone().requires_grad_(True)
    module = FKDLoss(0.8, kernel, feature_reg_weight=0.1)
    assert torch.autograd.gradcheck(lambda s: module(s, [t1, t2]), (student,))


def test_zero_for_identical_features_and_ensemble_of_copies():
    student, teacher, _ = _features(seed=2)
    flat = student.reshape(5, -1)
    for kernel in ('correlation', 'linear'):
        module = FKDLoss(kernel=kernel)
        assert module(student, flat.clone()).item() == pytest.approx(0.0, abs=1e-14)
        torch.testing.assert_close(module(student, [teacher, teacher.clone()]),
                                   module(student, teacher))
        torch.testing.assert_close(module(student, (teacher, )), module(student, teacher))


def test_kernel_invariances():
    """Both kernels are invariant to a rotation of the feature space; the correlation
    kernel also to rescaling each sample's features (without regularisation)."""
    student, teacher, _ = _features(seed=3)
    flat = student.reshape(5, -1)
    rotation, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64,
                                              generator=torch.Generator().manual_seed(0)))
    scales = torch.tensor([[0.3], [2.0], [5.0], [1.0], [0.1]], dtype=torch.float64)
    for kernel in ('correlation', 'linear'):
        module = FKDLoss(kernel=kernel)
        torch.testing.assert_close(module(flat @ rotation, teacher), module(flat, teacher))
    module = FKDLoss(kernel='correlation')
    torch.testing.assert_close(module(scales * flat, teacher), module(flat, teacher))


def test_feature_regularisation_gradient_is_student_only():
    student, teacher, _ = _features(seed=4)
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    loss = FKDLoss(loss_weight=0.0, feature_reg_weight=0.5)(student, teacher)
    grad_s, grad_t = torch.autograd.grad(loss, (student, teacher), allow_unused=True)
    assert grad_t is None
    # d/dz of 0.5 * mean_i ||z_i||^2 is z / B
    torch.testing.assert_close(grad_s, student.detach() / 5)


def test_functional_kernel_and_batching():
    gen = torch.Generator().manual_seed(5)
    features = torch.randn(3, 4, 6, generator=gen, dtype=torch.float64)
    k = feature_kernel(features, 'correlation')
    torch.testing.assert_close(k.diagonal(dim1=-2, dim2=-1), torch.ones(3, 4,
                                                                         dtype=torch.float64))
    teacher = torch.randn(3, 4, 2, generator=gen, dtype=torch.float64)
    batched = feature_kernel_distance(features, teacher, 'linear')
    looped = torch.stack([feature_kernel_distance(features[i], teacher[i], 'linear')
                          for i in range(3)])
    torch.testing.assert_close(batched, looped)
    zero = torch.zeros(2, 3, dtype=torch.float64)
    assert feature_kernel(zero, 'correlation').abs().sum() == 0


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_inputs_compute_in_float32(dtype):
    student, t1, t2 = _features(seed=6)
    module = FKDLoss(feature_reg_weight=0.01)
    value = module(student.to(dtype), [t1.to(dtype), t2.to(dtype)])
    assert value.dtype == torch.float32
    ref = module(student.to(dtype).double(), [t1.to(dtype).double(), t2.to(dtype).double()])
    torch.testing.assert_close(value.double(), ref, rtol=1e-5, atol=1e-7)


def test_autocast_returns_float32_and_float64_stays_float64():
    student, teacher, _ = _features(seed=7)
    module = FKDLoss(kernel='linear')
    assert module(student, teacher).dtype == torch.float64
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        value = module(student.float(), teacher.float())
    assert value.dtype == torch.float32
    torch.testing.assert_close(value.double(), module(student.float().double(),
                                                      teacher.float().double()),
                               rtol=1e-5, atol=1e-6)


def test_bad_input_raises():
    student, teacher, _ = _features(seed=8)
    with pytest.raises(ValueError, match="kernel must be one of"):
        FKDLoss(kernel='rbf')
    with pytest.raises(ValueError, match='feature_reg_weight must be >= 0'):
        FKDLoss(feature_reg_weight=-1.0)
    with pytest.raises(ValueError, match=r'same batch of 5 samples.*\(4, 4\)'):
        FKDLoss()(student, [teacher, teacher[:4]])
    with pytest.raises(ValueError, match='empty list of teacher features'):
        FKDLoss()(student, [])
    with pytest.raises(ValueError, match='batched features'):
        FKDLoss()(student, torch.tensor(1.0))


# ------------------------------------------------------- teacher ensemble end to end
def _ensemble_distill(teachers, checkpoints=None):
    return MODELS.build(dict(
        type='SingleTeacherDistill',
        architecture=ToyClassifier(feat_dim=4, num_classes=5),
        teacher=dict(type='TeacherEnsemble', teachers=teachers, checkpoints=checkpoints),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
            teacher_recorders=dict(feats=dict(type='ModuleOutputs', source='')),
            distill_losses=dict(loss_fkd=dict(type='FKDLoss', loss_weight=2.0)),
            loss_forward_mappings=dict(loss_fkd=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feats'))))))


def test_teacher_ensemble_feeds_fkd_across_label_spaces():
    """Two teachers with their own label spaces (2 and 3 classes, fewer than the
    student's labels) and feature sizes: the ensemble hands FKD one feature tensor per
    teacher and never gives them the student's labels."""
    torch.manual_seed(0)
    teachers = [ToyClassifier(feat_dim=3, num_classes=2),
                ToyClassifier(feat_dim=7, num_classes=3)]
    algorithm = _ensemble_distill(teachers)
    inputs = torch.randn(8, 6)
    labels = torch.arange(8) % 5  # labels 3, 4 exist for no teacher
    losses = algorithm.loss(inputs, labels)

    student_feat = algorithm.student.extract_feat(inputs)[-1]
    with torch.no_grad():
        teacher_feats = [t.extract_feat(inputs)[-1] for t in teachers]
    expected = FKDLoss(loss_weight=2.0)(student_feat, teacher_feats)
    torch.testing.assert_close(losses['distill.loss_fkd'], expected)
    assert all(not p.requires_grad for p in algorithm.teacher.parameters())
    recorded = algorithm.distiller.get_record('feats', from_student=False)
    assert [tuple(f.shape) for f in recorded] == [(8, 3), (8, 7)]


def test_teacher_ensemble_loads_checkpoints_and_checks_config(tmp_path):
    torch.manual_seed(1)
    trained = ToyClassifier(feat_dim=3, num_classes=2)
    path = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=trained.state_dict()), path)
    algorithm = _ensemble_distill([ToyClassifier(3, 2), ToyClassifier(7, 3)],
                                  checkpoints=[str(path), None])
    loaded = algorithm.teacher.teachers[0]
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value)

    with pytest.raises(ValueError, match=r'2 checkpoints for 1 teachers.*\[None\] \* 1'):
        _ensemble_distill([ToyClassifier(3, 2)], checkpoints=[None, None])
    with pytest.raises(ValueError, match='at least one teacher'):
        _ensemble_distill([])
    with pytest.raises(TypeError, match='no extract_feat'):
        _ensemble_distill([nn.Linear(6, 3)])
