"""KDALoss: value and gradient against a loop reference, landmark state (class means,
empty classes, bad / soft labels, warm-up, checkpoints), the paper's variants."""
import math
from unittest import mock

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.models.losses.kda_loss import KDALoss


def _data(seed: int = 0, batch: int = 12, d_s: int = 3, d_t: int = 5, classes: int = 4,
          dtype: torch.dtype = torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, d_s, generator=gen, dtype=dtype),
            torch.randn(batch, d_t, generator=gen, dtype=dtype),
            torch.randint(0, classes, (batch, ), generator=gen))


def _active_loss(landmarks_s: torch.Tensor, landmarks_t: torch.Tensor, **kwargs) -> KDALoss:
    """A loss past its warm-up holding the given landmarks (loaded as from a checkpoint)."""
    num_classes = kwargs.pop('num_classes', landmarks_s.shape[0])
    loss = KDALoss(num_classes=num_classes, student_channels=landmarks_s.shape[1],
                   teacher_channels=landmarks_t.shape[1], warmup_epochs=1,
                   **kwargs).to(landmarks_s.dtype)
    loss.load_state_dict(dict(landmarks_student=landmarks_s, landmarks_teacher=landmarks_t,
                              num_updates=torch.tensor(1)))
    return loss


def reference_kda(x_s, x_t, d_s, d_t, loss_weight):
    """Eq. 3.4 entry by entry in Python floats: sum of smooth-L1 / ||C_T||_F."""
    total, norm = 0.0, 0.0
    for i in range(x_s.shape[0]):
        for j in range(d_s.shape[0]):
            c_s = sum(a * b for a, b in zip(x_s[i].tolist(), d_s[j].tolist()))
            c_t = sum(a * b for a, b in zip(x_t[i].tolist(), d_t[j].tolist()))
            z = c_s - c_t
            total += 0.5 * z * z if abs(z) < 1 else abs(z) - 0.5
            norm += c_t * c_t
    return loss_weight * total / math.sqrt(norm)


def reference_class_means(x_s, x_t, labels, num_classes):
    """Per-class means with an explicit loop; ``None`` for a class without samples."""
    means = []
    for c in range(num_classes):
        rows = [i for i in range(len(labels)) if int(labels[i]) == c]
        means.append(None if not rows else (
            sum(x_s[i] for i in rows) / len(rows), sum(x_t[i] for i in rows) / len(rows)))
    return means


def test_built_from_registry_with_paper_defaults():
    loss = MODELS.build(dict(type='KDALoss', num_classes=10, student_channels=8,
                             teacher_channels=16))
    assert isinstance(loss, KDALoss)
    assert (loss.loss_weight, loss.warmup_epochs, loss.landmark_kind,
            loss.centers_per_class, loss.nystrom) == (0.04, 5, 'class_mean', 1, None)
    assert loss.landmarks_student.shape == (10, 8)
    assert loss.landmarks_teacher.shape == (10, 16)


@pytest.mark.parametrize('batch,d_s,d_t,classes', [(12, 3, 5, 4), (7, 6, 2, 3), (1, 4, 4, 2)])
def test_value_matches_loop_reference(batch, d_s, d_t, classes):
    x_s, x_t, labels = _data(batch=batch, d_s=d_s, d_t=d_t, classes=classes)
    gen = torch.Generator().manual_seed(1)
    d_s_ = torch.randn(classes, d_s, generator=gen, dtype=torch.float64)
    d_t_ = torch.randn(classes, d_t, generator=gen, dtype=torch.float64)
    loss = _active_loss(d_s_, d_t_, loss_weight=0.3)
    value = loss(x_s, x_t, labels)
    assert value.dtype == torch.float64
    assert value.item() == pytest.approx(reference_kda(x_s, x_t, d_s_, d_t_, 0.3), rel=1e-10)


def test_feature_maps_are_average_pooled():
    x_s, x_t, labels = _data(batch=6)
    maps_s = x_s[:, :, None, None] + torch.randn(6, 3, 2, 3, dtype=torch.float64)
    maps_s = maps_s - maps_s.mean(dim=(2, 3), keepdim=True) + x_s[:, :, None, None]
    maps_t = x_t[:, :, None, None].expand(6, 5, 4, 4)
    landmarks = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    loss = _active_loss(*landmarks)
    assert loss(maps_s, maps_t, labels).item() == pytest.approx(
        loss(x_s, x_t, labels).item(), rel=1e-12)


def test_gradcheck_float64():
    x_s, x_t, labels = _data(batch=5)
    loss = _active_loss(torch.randn(4, 3, dtype=torch.float64),
                        torch.randn(4, 5, dtype=torch.float64)).eval()
    x_s.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: loss(s, x_t, labels), (x_s, ))


def test_teacher_side_gets_no_gradient():
    x_s, x_t, labels = _data()
    x_s.requires_grad_(True)
    x_t.requires_grad_(True)
    loss = _active_loss(torch.randn(4, 3, dtype=torch.float64),
                        torch.randn(4, 5, dtype=torch.float64))
    loss(x_s, x_t, labels).backward()
    assert x_t.grad is None
    assert x_s.grad is not None and x_s.grad.abs().sum() > 0


def test_landmarks_after_one_epoch_are_class_means():
    x_s, x_t, labels = _data(batch=30, classes=4)
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    for batch in range(0, 30, 8):  # uneven batches
        loss(x_s[batch:batch + 8], x_t[batch:batch + 8], labels[batch:batch + 8])
    loss.update_landmarks()
    for c, (mean_s, mean_t) in enumerate(reference_class_means(x_s, x_t, labels, 4)):
        torch.testing.assert_close(loss.landmarks_student[c], mean_s)
        torch.testing.assert_close(loss.landmarks_teacher[c], mean_t)
    assert int(loss.num_updates) == 1


def test_landmarks_use_only_the_previous_epoch():
    first, second = _data(seed=1, batch=16), _data(seed=2, batch=16)
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    for x_s, x_t, labels in (first, second):
        loss(x_s, x_t, labels)
        loss.update_landmarks()
    x_s, x_t, labels = second
    for c, (mean_s, mean_t) in enumerate(reference_class_means(x_s, x_t, labels, 4)):
        torch.testing.assert_close(loss.landmarks_student[c], mean_s)
        torch.testing.assert_close(loss.landmarks_teacher[c], mean_t)


def test_eval_mode_does_not_accumulate():
    x_s, x_t, labels = _data()
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double().eval()
    loss(x_s, x_t, labels)
    loss.update_landmarks()
    assert loss.landmarks_student.abs().sum() == 0
    assert int(loss.num_updates) == 1


def test_class_without_samples_keeps_its_previous_landmark():
    loss = KDALoss(num_classes=3, student_channels=2, teacher_channels=2).double()
    x = torch.tensor([[1., 2.], [3., 4.], [5., 6.]], dtype=torch.float64)
    loss(x, -x, torch.tensor([0, 1, 1]))
    loss.update_landmarks()  # class 2 never seen: stays zero
    torch.testing.assert_close(loss.landmarks_student,
                               torch.tensor([[1., 2.], [4., 5.], [0., 0.]],
                                            dtype=torch.float64))
    loss(x[:1] * 10, x[:1], torch.tensor([1]))
    loss.update_landmarks()  # class 0 empty now: keeps [1, 2]
    torch.testing.assert_close(loss.landmarks_student,
                               torch.tensor([[1., 2.], [10., 20.], [0., 0.]],
                                            dtype=torch.float64))
    torch.testing.assert_close(loss.landmarks_teacher[1], x[0])
    assert torch.isfinite(loss.landmarks_student).all()


@pytest.mark.parametrize('bad', [4, 7, -1])
def test_label_outside_range_raises_naming_label_and_num_classes(bad):
    x_s, x_t, labels = _data(classes=4)
    labels[3] = bad
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    loss(x_s, x_t, labels)
    with pytest.raises(ValueError, match=rf'label {bad} outside \[0, num_classes\) = \[0, 4\)'):
        loss.update_landmarks()


def test_labels_outside_range_are_left_out_of_the_sums():
    x_s, x_t, labels = _data(classes=4)
    bad_labels = labels.clone()
    bad_labels[0] = 9
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    loss(x_s, x_t, bad_labels)
    sums = loss._accumulated.sums
    keep = torch.arange(len(labels)) != 0
    for c in range(4):
        expected = torch.cat([x_s, x_t], 1)[keep & (labels == c)].sum(0)
        torch.testing.assert_close(sums[c], expected)


def test_soft_labels_count_for_their_argmax_class():
    x_s, x_t, labels = _data(batch=20, classes=4)
    soft = torch.full((20, 4), 0.1, dtype=torch.float32)
    soft[torch.arange(20), labels] = 0.7  # e.g. Mixup with lambda 0.7
    hard_loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    soft_loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    hard_loss(x_s, x_t, labels)
    soft_loss(x_s, x_t, soft)
    hard_loss.update_landmarks()
    soft_loss.update_landmarks()
    torch.testing.assert_close(soft_loss.landmarks_student, hard_loss.landmarks_student)
    torch.testing.assert_close(soft_loss.landmarks_teacher, hard_loss.landmarks_teacher)


@pytest.mark.parametrize('labels,message', [
    (torch.zeros(12, 3), r'soft labels must have shape \(N, num_classes\) = \(12, 4\)'),
    (torch.zeros(12, 1, dtype=torch.long), r'must be \(12,\) integer class indices'),
    (torch.zeros(5, dtype=torch.long), r'must be \(12,\) integer class indices'),
    (torch.zeros(12), r'must be \(12,\) integer class indices'),
])
def test_malformed_labels_raise(labels, message):
    x_s, x_t, _ = _data()
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    with pytest.raises(ValueError, match=message):
        loss(x_s, x_t, labels)


def test_labels_must_be_a_tensor():
    x_s, x_t, labels = _data()
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    with pytest.raises(TypeError, match="ModuleInputs.*head.loss_module.*data_idx=1"):
        loss(x_s, x_t, labels.tolist())


def test_warmup_boundary_and_single_log_message():
    x_s, x_t, labels = _data()
    x_s.requires_grad_(True)
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5,
                   warmup_epochs=2).double()
    with mock.patch('mmrazor_relkd.models.losses.kda_loss.print_log') as log:
        for _ in range(2):  # two warm-up epochs
            value = loss(x_s, x_t, labels)
            assert value.item() == 0.0
            grad, = torch.autograd.grad(value, x_s)  # in the graph, zero gradient
            assert grad.abs().sum() == 0
            loss.update_landmarks()
        assert log.call_count == 1
        assert 'warming up' in log.call_args.args[0]
        value = loss(x_s, x_t, labels)
    assert value.item() > 0
    landmarks = loss.landmarks_student, loss.landmarks_teacher
    assert value.item() == pytest.approx(
        reference_kda(x_s.detach(), x_t, *landmarks, 0.04), rel=1e-10)


@pytest.mark.parametrize('warmup', [0, -3])
def test_warmup_below_one_is_refused(warmup):
    with pytest.raises(ValueError, match=f'warmup_epochs must be >= 1, got {warmup}'):
        KDALoss(num_classes=4, student_channels=3, teacher_channels=5,
                warmup_epochs=warmup)


@pytest.mark.parametrize('kwargs,message', [
    (dict(landmarks='kmeans'), 'landmarks must be one of'),
    (dict(nystrom='inverse'), 'nystrom must be one of'),
    (dict(centers_per_class=0), 'centers_per_class must be >= 1'),
    (dict(centers_per_class=3, kmeans_samples_per_class=2),
     r'kmeans_samples_per_class \(2\) must be at least centers_per_class \(3\)'),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KDALoss(num_classes=4, student_channels=3, teacher_channels=5, **kwargs)


def test_channel_mismatch_names_the_option_to_set():
    x_s, x_t, labels = _data()
    loss = KDALoss(num_classes=4, student_channels=8, teacher_channels=5)
    with pytest.raises(ValueError, match='student features have 3 channels but '
                       'student_channels=8; set student_channels=3'):
        loss(x_s, x_t, labels)
    with pytest.raises(ValueError, match=r'same samples, got batch sizes 12 and 11'):
        KDALoss(num_classes=4, student_channels=3, teacher_channels=5)(x_s, x_t[:11], labels)
    with pytest.raises(ValueError, match=r'must be \(N, d\) or \(N, d, H, W\)'):
        KDALoss(num_classes=4, student_channels=3, teacher_channels=5)(
            x_s[:, :, None], x_t, labels)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_inputs_are_computed_in_float32(dtype):
    x_s, x_t, labels = _data(dtype=torch.float32)
    loss = _active_loss(torch.randn(4, 3), torch.randn(4, 5)).float()
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        value = loss(x_s.to(dtype), x_t.to(dtype), labels)
    assert value.dtype == torch.float32
    expected = loss(x_s.to(dtype).float(), x_t.to(dtype).float(), labels)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)


VARIANTS = {
    'class_mean': dict(),
    'kmeans': dict(centers_per_class=2, kmeans_samples_per_class=5),
    'random_samples': dict(landmarks='random_samples', centers_per_class=2),
}


@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_state_dict_in_mid_epoch_resumes_the_partial_epoch_exactly(variant):
    """A loss loaded from a mid-epoch state dict ends the epoch with the landmarks of
    the uninterrupted loss (bit for bit), sample, pending rows and generator included."""
    x_s, x_t, labels = _data(batch=48, classes=2)
    batches = [(x_s[i:i + 4], x_t[i:i + 4], labels[i:i + 4]) for i in range(0, 48, 4)]

    def new_loss():
        return KDALoss(num_classes=2, student_channels=3, teacher_channels=5, seed=5,
                       **VARIANTS[variant]).double()

    whole = new_loss()
    for batch in batches[:7]:  # kmeans: 28 rows, the last 8 pending (folded every 10)
        whole(*batch)
    state = whole.state_dict()
    assert {key for key in state if key.startswith('partial_epoch_')}
    resumed = new_loss()
    resumed(x_s * 7, x_t, labels)  # its own partial epoch is replaced by the loaded one
    assert not resumed.load_state_dict(state, strict=True).unexpected_keys
    for batch in batches[7:]:
        whole(*batch)
        resumed(*batch)
    whole.update_landmarks()
    resumed.update_landmarks()
    assert torch.equal(resumed.landmarks_student, whole.landmarks_student)
    assert torch.equal(resumed.landmarks_teacher, whole.landmarks_teacher)
    assert set(whole.state_dict()) == {'landmarks_student', 'landmarks_teacher',
                                       'num_updates'}  # an epoch boundary: no partial


def test_partial_epoch_of_several_processes_is_discarded_with_a_warning():
    """A checkpoint holds rank 0's partial epoch only: loading it would count rank 0's
    samples on every rank, so it is dropped and the epoch's remaining batches count."""
    x_s, x_t, labels = _data(batch=16)
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    loss(x_s * 100, x_t, labels)
    with mock.patch('mmrazor_relkd.models.losses.kda_loss.get_world_size', return_value=2):
        state = loss.state_dict()
    resumed = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    with mock.patch('mmrazor_relkd.models.losses.kda_loss.print_log') as log:
        resumed.load_state_dict(state)
    assert 'discarding the partial epoch of the checkpoint (saved with 2 process(es)' in \
        log.call_args.args[0]
    assert resumed._accumulated is None
    resumed(x_s[:8], x_t[:8], labels[:8])
    resumed.update_landmarks()
    for c, mean in enumerate(reference_class_means(x_s[:8], x_t[:8], labels[:8], 4)):
        if mean is not None:
            torch.testing.assert_close(resumed.landmarks_student[c], mean[0])


def test_accumulators_are_not_buffers():
    """DDP broadcasts buffers from rank 0 at every forward; per-rank sums must not be
    among them (see tests/test_distributed/test_kda_ddp.py for the real thing)."""
    x_s, x_t, labels = _data()
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5).double()
    loss(x_s, x_t, labels)
    buffer_ids = {id(b) for b in loss.buffers()}
    state = loss._accumulated
    assert all(id(t) not in buffer_ids for t in (state.sums, state.counts, state.label_range))
    assert {name for name, _ in loss.named_buffers()} == {
        'landmarks_student', 'landmarks_teacher', 'num_updates'}


def test_random_sample_landmarks_are_training_samples():
    x_s, x_t, labels = _data(batch=40, classes=4)
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5,
                   landmarks='random_samples', centers_per_class=2, seed=3).double()
    for batch in range(0, 40, 16):
        loss(x_s[batch:batch + 16], x_t[batch:batch + 16], labels[batch:batch + 16])
    loss.update_landmarks()
    assert loss.landmarks_student.shape == (8, 3)
    pairs = torch.cat([loss.landmarks_student, loss.landmarks_teacher], 1)
    samples = torch.cat([x_s, x_t], 1)
    matches = (pairs[:, None, :] == samples[None]).all(-1)  # (L, N)
    assert (matches.sum(1) == 1).all()  # each landmark is one sample, S and T together
    assert matches.any(0).sum() == 8  # eight distinct samples
    again = KDALoss(num_classes=4, student_channels=3, teacher_channels=5,
                    landmarks='random_samples', centers_per_class=2, seed=3).double()
    again(x_s, x_t, labels)  # other batching, same keys: same draw
    again.update_landmarks()
    torch.testing.assert_close(again.landmarks_student, loss.landmarks_student)
    other = KDALoss(num_classes=4, student_channels=3, teacher_channels=5,
                    landmarks='random_samples', centers_per_class=2, seed=4).double()
    other(x_s, x_t, labels)
    other.update_landmarks()
    assert not torch.equal(other.landmarks_student, loss.landmarks_student)


def test_kmeans_landmarks_are_centres_of_clusters_within_each_class():
    gen = torch.Generator().manual_seed(0)
    offsets = torch.tensor([[10., 0.], [-10., 0.], [0., 10.], [0., -10.]],
                           dtype=torch.float64)
    labels = torch.arange(4).repeat_interleave(10)  # class c: clusters c and (c+1) % 4
    cluster = torch.where(torch.arange(40) % 2 == 0, labels, (labels + 1) % 4)
    x_s = offsets[cluster] + 0.1 * torch.randn(40, 2, generator=gen, dtype=torch.float64)
    x_t = 2 * offsets[cluster] + 0.1 * torch.randn(40, 2, generator=gen,
                                                   dtype=torch.float64)
    loss = KDALoss(num_classes=4, student_channels=2, teacher_channels=2,
                   centers_per_class=2, kmeans_samples_per_class=16).double()
    loss(x_s, x_t, labels)
    loss.update_landmarks()
    for c in range(4):
        expected = []
        for k in (c, (c + 1) % 4):
            rows = (labels == c) & (cluster == k)
            expected.append(torch.cat([x_s[rows].mean(0), x_t[rows].mean(0)]))
        got = torch.cat([loss.landmarks_student, loss.landmarks_teacher], 1)[2 * c:2 * c + 2]
        order = [0, 1] if torch.allclose(got[0], expected[0]) else [1, 0]
        torch.testing.assert_close(got, torch.stack(expected)[order])


def test_kmeans_sample_is_bounded_per_class():
    x_s, x_t, labels = _data(batch=60, classes=2)
    loss = KDALoss(num_classes=2, student_channels=3, teacher_channels=5,
                   centers_per_class=2, kmeans_samples_per_class=5).double()
    for batch in range(0, 60, 4):  # pending batches are folded in once they hold 10 rows
        loss(x_s[batch:batch + 4], x_t[batch:batch + 4], labels[batch:batch + 4])
        state = loss._accumulated
        assert state.sample_values.shape == (2, 5, 8)
        assert state.pending_rows < 10
    assert torch.isfinite(state.sample_keys).all()


@pytest.mark.parametrize('nystrom', ['pinv', 'inv_sqrt'])
def test_nystrom_forms_match_reference(nystrom):
    x_s, x_t, labels = _data(batch=6)
    gen = torch.Generator().manual_seed(5)
    d_s = torch.randn(4, 3, generator=gen, dtype=torch.float64)  # W_S rank 3 < 4
    d_t = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    loss = _active_loss(d_s, d_t, nystrom=nystrom, loss_weight=0.5)
    c_s, c_t = x_s @ d_s.T, x_t @ d_t.T
    w_s_pinv = torch.linalg.pinv(d_s @ d_s.T, hermitian=True)
    w_t_pinv = torch.linalg.pinv(d_t @ d_t.T, hermitian=True)
    if nystrom == 'pinv':
        a_s, a_t = c_s @ w_s_pinv @ c_s.T, c_t @ w_t_pinv @ c_t.T
    else:
        root = loss.nystrom_teacher  # checked below: symmetric square root of W_T^+
        torch.testing.assert_close(root @ root, w_t_pinv)
        torch.testing.assert_close(root, root.T)
        assert torch.linalg.eigvalsh(root).min() > -1e-12
        a_s, a_t = c_s @ root, c_t @ root
    z = a_s - a_t
    smooth = torch.where(z.abs() < 1, 0.5 * z * z, z.abs() - 0.5).sum()
    expected = 0.5 * smooth / torch.linalg.matrix_norm(a_t)
    torch.testing.assert_close(loss(x_s, x_t, labels), expected)


def test_nystrom_operators_follow_landmark_updates():
    x_s, x_t, labels = _data(batch=20)
    loss = KDALoss(num_classes=4, student_channels=3, teacher_channels=5, warmup_epochs=1,
                   nystrom='pinv').double()
    loss(x_s, x_t, labels)
    loss.update_landmarks()
    d_t = loss.landmarks_teacher
    torch.testing.assert_close(loss.nystrom_teacher,
                               torch.linalg.pinv(d_t @ d_t.T, hermitian=True))
    assert set(loss.state_dict()) == {'landmarks_student', 'landmarks_teacher',
                                      'num_updates'}
    fresh = KDALoss(num_classes=4, student_channels=3, teacher_channels=5, warmup_epochs=1,
                    nystrom='pinv').double()
    fresh.load_state_dict(loss.state_dict())
    torch.testing.assert_close(fresh.nystrom_teacher, loss.nystrom_teacher)
    torch.testing.assert_close(fresh(x_s, x_t, labels), loss(x_s, x_t, labels))
