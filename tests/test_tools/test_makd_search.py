"""tools/analysis/makd_search.py: the seed's search protocol in --quick mode on tiny
synthetic data (in memory, and as PNG files through the command line)."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import mmrazor_relkd  # noqa: F401  (compat shims before anything imports mmrazor)
from mmrazor_relkd.functional.affinity import affinity_distillation_loss

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    'makd_search', ROOT / 'tools' / 'analysis' / 'makd_search.py')
makd_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(makd_search)


pytestmark = pytest.mark.usefixtures('single_thread')


def _colour_dataset(num: int = 48, size: int = 16, classes: int = 3, seed: int = 0):
    """Images whose class is a colour offset plus noise: linearly separable-ish."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(num) % classes
    palette = torch.tensor([[1.0, -1.0, 0.0], [-1.0, 0.5, 1.0], [0.0, 1.0, -1.0]])
    images = 0.5 * torch.randn(num, 3, size, size, generator=gen)
    return (images + 0.6 * palette[labels].view(num, 3, 1, 1)).clamp(-1, 1), labels


def test_quick_search_runs_all_80_variants_and_ranks_them():
    images, labels = _colour_dataset()
    settings = makd_search.SearchSettings.quick()
    result = makd_search.run_search(images, labels, settings, log=lambda *_: None)

    assert len(result['runs']) == 80 and len(result['ranking']) == 80
    assert {tuple(r['variant']) for r in result['runs']} == set(makd_search.ALL_VARIANTS)
    for run in result['runs']:
        assert 0.0 <= run['accuracy'] <= 1.0 and np.isfinite(run['lam']) and run['lam'] > 0
    scores = [r['normalized_accuracy'] for r in result['ranking']]
    assert scores == sorted(scores, reverse=True) and scores[0] == pytest.approx(1.0)
    assert [r['rank'] for r in result['ranking']] == list(range(1, 81))
    (ref, ) = result['references']
    assert ref['target_grad_norm'] > 0 and 0.0 <= ref['teacher_probe'] <= 1.0


def test_fixed_lambda_matches_reference_gradient_norm():
    """lambda of a variant makes ||d(lambda L_mAKD)/dz|| on the first batch equal to
    the reference norm (the seed's equal-importance requirement)."""
    images, labels = _colour_dataset(num=32)
    settings = makd_search.SearchSettings.quick(student_iters=1)
    teacher = makd_search.ConvNet(settings.teacher_widths, 3).eval()
    torch.manual_seed(0)
    init = makd_search.ConvNet(settings.student_widths, 3).state_dict()
    variant = ('l2', 'avg', 'kl')
    _, lam = makd_search.distil_variant(variant, init, teacher, images, 3, 0.07,
                                        settings, seed=5)

    first = next(makd_search._batches(len(images), settings.batch_size, 1,
                                      torch.Generator().manual_seed(5)))
    student = makd_search.ConvNet(settings.student_widths, 3)
    student.load_state_dict(init)
    z = student.train().features(images[first])
    with torch.no_grad():
        z_t = teacher.features(images[first])
    (grad, ) = torch.autograd.grad(lam * affinity_distillation_loss(z, z_t, *variant), z)
    assert grad.norm().item() == pytest.approx(0.07, rel=1e-4)


def test_linear_probe_separates_separable_features():
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 3
    centres = torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    feats = centres[labels] + 0.3 * torch.randn(60, 2, generator=gen)
    settings = makd_search.SearchSettings.quick(probe_iters=50)
    assert makd_search.linear_probe_accuracy(feats[:40], labels[:40], feats[40:],
                                             labels[40:], 3, settings) == 1.0
    shuffled = labels[torch.randperm(60, generator=gen)]
    noise = torch.randn(60, 2, generator=gen)
    assert makd_search.linear_probe_accuracy(noise[:40], shuffled[:40], noise[40:],
                                             shuffled[40:], 3, settings) < 0.8


def test_rank_normalises_per_seed_then_averages():
    runs = [dict(seed=0, variant=['cs', 'l2', 'sl1'], lam=1.0, accuracy=0.8, num_val=50),
            dict(seed=0, variant=['ip', 'max', 'kl'], lam=2.0, accuracy=0.4, num_val=50),
            dict(seed=1, variant=['cs', 'l2', 'sl1'], lam=3.0, accuracy=0.5, num_val=50),
            dict(seed=1, variant=['ip', 'max', 'kl'], lam=4.0, accuracy=0.6, num_val=50)]
    first, second = makd_search.rank_variants(runs)
    assert first['variant'] == ['cs', 'l2', 'sl1']
    assert first['normalized_accuracy'] == pytest.approx((1.0 + 0.5 / 0.6) / 2)
    assert second['normalized_accuracy'] == pytest.approx((0.5 + 1.0) / 2)
    assert first['mean_accuracy'] == pytest.approx(0.65)
    assert first['mean_lambda'] == pytest.approx(2.0)
    # the mean of two runs: sqrt(se_1^2 + se_2^2) / 2
    assert first['stderr'] == pytest.approx(
        np.sqrt(0.8 * 0.2 / 50 + 0.5 * 0.5 / 50) / 2)


def test_binomial_stderr():
    assert makd_search.binomial_stderr(0.3, 100) == pytest.approx(np.sqrt(0.21 / 100))
    assert makd_search.binomial_stderr(1.0, 10) == 0.0
    with pytest.raises(ValueError, match='at least one sample, got num=0'):
        makd_search.binomial_stderr(0.5, 0)


def _runs(accuracies, num_val=400):
    return [dict(seed=0, variant=list(variant), lam=1.0, accuracy=acc, num_val=num_val)
            for variant, acc in zip(makd_search.ALL_VARIANTS, accuracies)]


def test_ranking_marks_the_variants_tied_with_the_top_one():
    """0.60 vs 0.57 on 400 images: the difference's s.e. is 0.035, so 0.03 is noise;
    0.40 is 8 standard errors below."""
    ranking = makd_search.rank_variants(_runs([0.57, 0.40, 0.60]))
    assert [r['mean_accuracy'] for r in ranking] == [0.60, 0.57, 0.40]
    assert [r['tied_with_top'] for r in ranking] == [True, True, False]
    assert ranking[0]['stderr'] == pytest.approx(np.sqrt(0.6 * 0.4 / 400))


def _result(accuracies, teacher_probe, chance=0.28, num_val=400):
    return dict(ranking=makd_search.rank_variants(_runs(accuracies, num_val)),
                references=[dict(seed=0, target_grad_norm=0.07, teacher_probe=teacher_probe,
                                 untrained_student_probe=0.3, num_val=num_val,
                                 chance=chance)])


def test_output_says_a_near_chance_ranking_is_noise():
    """What --quick gave on the shapes crops: probes 0.27-0.31, teacher 0.32."""
    table = makd_search.markdown_table(_result([0.31, 0.29, 0.27], teacher_probe=0.32))
    assert '3 of 3 variants are within 2 standard errors of the top one (0.310 ± 0.023)' \
        in table
    assert table.count('| tied |') == 3
    assert ("WARNING: the teacher's own probe accuracy (0.320 ± 0.023) is not above "
            'chance (0.280, the majority-class rate) by more than 2 standard errors') \
        in table


def test_output_warns_about_a_teacher_below_chance():
    table = makd_search.markdown_table(_result([0.12, 0.06], teacher_probe=0.06,
                                               chance=0.235, num_val=17))
    assert "WARNING: the teacher's own probe accuracy (0.060 ± 0.058)" in table


def test_output_of_a_separated_ranking_has_no_warning():
    table = makd_search.markdown_table(_result([0.85, 0.60, 0.84], teacher_probe=0.9))
    assert '2 of 3 variants are within 2 standard errors' in table
    assert '| tied |' in table and '| no |' in table
    assert 'WARNING' not in table


def test_command_line_writes_table_json_and_heatmap(tmp_path):
    """--quick on a tiny dataset written as PNGs in the embedded dataset's layout."""
    images, labels = _colour_dataset(num=30, size=8)
    (tmp_path / 'images' / 'train').mkdir(parents=True)
    (tmp_path / 'annotations').mkdir()
    lines = []
    for index, (image, label) in enumerate(zip(images, labels)):
        pixels = ((image.permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
        name = f'images/train/{index:06d}.png'
        Image.fromarray(pixels).save(tmp_path / name)
        lines.append(f'{name} {label.item()}')
    (tmp_path / 'annotations' / 'cls_train.txt').write_text('\n'.join(lines) + '\n')
    out = tmp_path / 'out'

    paths = makd_search.main(['--data-root', str(tmp_path), '--out', str(out), '--quick',
                              '--variants', 'cs-l2-sl1,ip-l2-l2,l2-avg-sl1'])

    table = Path(paths['md']).read_text()
    assert table.count('\n| ') == 4  # the separator and three variants
    assert 'validation images per seed; ± is its binomial standard error' in table
    record = json.loads(Path(paths['json']).read_text())
    assert {tuple(r['variant']) for r in record['ranking']} == {
        ('cs', 'l2', 'sl1'), ('ip', 'l2', 'l2'), ('l2', 'avg', 'sl1')}
    assert record['settings']['image_size'] == 16
    assert all(r['num_val'] == 12 for r in record['runs'])  # 40% of 30 images
    assert all('tied_with_top' in r and r['stderr'] >= 0 for r in record['ranking'])
    with Image.open(paths['png']) as heatmap:
        assert heatmap.width > 2 * heatmap.height > 0


def test_bad_variant_and_missing_data_raise(tmp_path):
    with pytest.raises(ValueError, match='unknown variant .cs-l3-sl1.*e.g. cs-l2-sl1'):
        makd_search.parse_variants('cs-l2-sl1,cs-l3-sl1')
    with pytest.raises(FileNotFoundError, match='generate_shapes_dataset.py'):
        makd_search.load_classification_split(str(tmp_path))
