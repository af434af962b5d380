"""The benchmarks in tools/benchmarks/ run, and what they time is what they claim."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / 'tools' / 'benchmarks'


@pytest.fixture
def benchmark_modules(monkeypatch):
    """Import the benchmark scripts the way `python tools/benchmarks/x.py` does."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_pcka_iteration
    import distill_timing
    return bench_pcka_iteration, distill_timing


def _run(script: str, *args: str) -> str:
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *args], cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout


def test_distill_losses_step_times_the_recorded_pcka_losses(benchmark_modules):
    """The timed step is the distiller's PCKA losses on the features recorded in the
    last training step, detached from it, and it survives training steps in between."""
    bench, timing = benchmark_modules
    torch.manual_seed(0)
    model, optim_wrapper, _ = bench.build(str(ROOT / bench.CONFIG))
    data = bench.demo_mm_inputs(2, [(3, 128, 128)] * 2, num_items=[2, 2], num_classes=4)
    model.train_step(data, optim_wrapper)
    distiller = model.distiller
    neck_s = [f.detach().clone().requires_grad_()
              for f in distiller.student_recorders.recorders['fpn'].data_buffer[0]]
    neck_t = [f.detach() for f in distiller.teacher_recorders.recorders['fpn'].data_buffer[0]]
    expected = sum(distiller.distill_losses[f'loss_pcka_fpn{level}'](neck_s[level],
                                                                     neck_t[level])
                   for level in range(3))
    expected.backward()

    step = timing.distill_losses_step(model)
    model.train_step(data, optim_wrapper)  # overwrites the recorders
    step()
    leaves = distiller.student_recorders.recorders['fpn'].data_buffer[0]
    for level in range(3):
        torch.testing.assert_close(leaves[level].grad, neck_s[level].grad)
    assert neck_s[3].grad is None and leaves[3].grad is None  # level 3 is not distilled


def test_interleaved_medians_alternates_calls(benchmark_modules):
    _, timing = benchmark_modules
    calls = []
    medians = timing.interleaved_medians(
        dict(a=lambda: calls.append('a'), b=lambda: calls.append('b')), 4, 'cpu')
    assert calls == ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']
    assert set(medians) == {'a', 'b'} and all(m >= 0 for m in medians.values())


def test_bench_pcka_iteration_reports_the_share():
    out = _run('bench_pcka_iteration.py', '--threads', '1', '--iters', '1', '--warmup',
               '1')
    row = out.strip().splitlines()[-1]
    iteration_ms, loss_ms, share = re.findall(r'[\d.]+', row)
    assert 0 < float(loss_ms) < float(iteration_ms)
    assert float(share) == pytest.approx(100 * float(loss_ms) / float(iteration_ms),
                                         abs=0.01)


@pytest.mark.parametrize('term', ['intra', 'inter'])
def test_bench_pcka_loop_baseline_matches_pcka_loss(benchmark_modules, term):
    """The authors'-style loop the speed-up is measured against computes the same loss
    and gradient as PCKALoss (levels that are and are not patch multiples)."""
    import bench_pcka
    students, teachers = bench_pcka.make_inputs([(16, 32), (13, 21)], 2, 8, 'cpu')
    students = [s.detach().double().requires_grad_() for s in students]
    teachers = [t.double() for t in teachers]
    _, loss, grads = bench_pcka.run_once(bench_pcka.make_loss('PCKALoss', term), students,
                                         teachers, 'cpu')
    _, loop_loss, loop_grads = bench_pcka.run_once(bench_pcka.make_loss('loop', term),
                                                   students, teachers, 'cpu')
    assert bench_pcka.max_relative([loss], [loop_loss])[1] < 1e-10
    assert bench_pcka.max_relative(grads, loop_grads)[1] < 1e-10


@pytest.mark.parametrize('term', ['intra', 'inter'])
def test_bench_pcka_floor_is_the_gram_work_of_pcka(benchmark_modules, term):
    """The floor the loss is timed against computes exactly the products PCKA needs:
    per channel, <K_S, K_T> of the patch Gram matrices (and ||S T^T||^2 with the inter
    term), with the authors' patch layout, after the resize to the patch grid."""
    import bench_pcka
    students, teachers = bench_pcka.make_inputs([(16, 32), (13, 21)], 2, 3, 'cpu')
    students = [s.detach().double().requires_grad_() for s in students]
    teachers = [t.double() for t in teachers]
    inter = term == 'inter'
    floor = bench_pcka.make_loss('floor', term)(students, teachers)
    expected = 0.0
    p = bench_pcka.PATCH
    for student, teacher in zip(students, teachers):
        h, w = student.shape[-2:]
        grid = (-(-h // p) * p, -(-w // p) * p)
        s_map = torch.nn.functional.interpolate(student, size=grid, mode='bilinear')
        t_map = torch.nn.functional.interpolate(teacher, size=grid, mode='bilinear')
        u, v = grid[0] // p, grid[1] // p
        for channel in range(student.shape[1]):
            s_mat, t_mat = (f[:, channel].reshape(2, u, p, v, p).permute(1, 3, 0, 2, 4)
                            .reshape(u * v, -1) for f in (s_map, t_map))
            expected = expected + torch.trace(s_mat @ s_mat.T @ t_mat @ t_mat.T)
            if inter:
                expected = expected + torch.linalg.matrix_norm(s_mat @ t_mat.T) ** 2
    torch.testing.assert_close(floor, expected, rtol=1e-12, atol=0)
    floor.backward()
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in students)


def test_bench_pcka_table_reports_loss_against_floor_and_loop(benchmark_modules,
                                                              monkeypatch, capsys):
    import bench_pcka
    monkeypatch.setattr(bench_pcka, 'peak_memory_mib', lambda *args: 0.0)
    monkeypatch.setattr(sys, 'argv', ['bench_pcka.py', '--quick', '--repeats', '1'])
    bench_pcka.main()
    rows = [line.split('|')[1:-1] for line in capsys.readouterr().out.splitlines()
            if line.startswith('| intra')]
    assert [(r[0].strip(), r[1].strip()) for r in rows] == [
        (term, impl) for term in ('intra only', 'intra + inter')
        for impl in ('floor: resize + Gram products', 'PCKALoss',
                     'per-channel loop (authors)')]
    for row in rows:
        seconds, per_floor = float(row[2]), float(row[3].strip(' x'))
        assert seconds > 0 and per_floor > 0
    assert float(rows[0][3].strip(' x')) == 1.0 and float(rows[3][3].strip(' x')) == 1.0
    assert float(rows[1][6].split('/')[1]) < 1e-4  # PCKALoss matches the loop
