"""tools/analysis/thread_rounding.py: gradients of one step at several thread counts."""
import importlib.util
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    'thread_rounding', REPO / 'tools' / 'analysis' / 'thread_rounding.py')
thread_rounding = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(thread_rounding)
STUDENT = str(REPO / 'configs/rcka/shapes/resnet8_1xb32_shapes.py')


def test_largest_relative_difference_by_hand():
    reference = {'a': torch.tensor([3.0, 4.0]), 'b': torch.tensor([1.0, 0.0]),
                 'zero': torch.zeros(2)}
    grads = {'a': torch.tensor([3.0, 4.5]), 'b': torch.tensor([1.0, 0.2]),
             'zero': torch.zeros(2)}
    # a: 0.5 / 5 = 0.1; b: 0.2 / 1 = 0.2
    worst, name = thread_rounding.largest_relative_difference(grads, reference)
    assert (worst, name) == (pytest.approx(0.2), 'b')
    assert thread_rounding.largest_relative_difference(reference, reference) == (0.0, 'a')
    grads['zero'] = torch.tensor([0.0, 1e-9])
    assert thread_rounding.largest_relative_difference(grads, reference) == (
        float('inf'), 'zero')
    with pytest.raises(ValueError, match='different parameters'):
        thread_rounding.largest_relative_difference({'a': reference['a']}, reference)


def test_one_thread_twice_is_identical_and_two_threads_differ_by_rounding_only():
    model = thread_rounding.build_classifier(STUDENT, seed=0)
    threads = torch.get_num_threads()
    results = thread_rounding.training_steps(model, [1, 1, 2], batch=16, size=32, seed=0)
    assert torch.get_num_threads() == threads  # restored
    assert [r.threads for r in results] == [1, 1, 2]
    reference = results[0]
    assert len(reference.grads) == len(list(model.parameters()))
    assert thread_rounding.largest_relative_difference(results[1].grads,
                                                       reference.grads)[0] == 0.0
    assert results[1].loss == reference.loss
    worst, _ = thread_rounding.largest_relative_difference(results[2].grads,
                                                           reference.grads)
    assert worst < 1e-5
    assert results[2].loss == pytest.approx(reference.loss, rel=1e-6)
    # the model itself was not trained
    assert all(p.grad is None for p in model.parameters())


def test_main_prints_each_thread_count_and_refuses_other_models(capsys):
    assert thread_rounding.main([STUDENT, '--threads', '1', '1', '--batch', '4']) == 0
    out = capsys.readouterr().out
    assert '1 thread(s): loss' in out and 'largest relative gradient difference 0 ' in out
    with pytest.raises(SystemExit):
        thread_rounding.main([STUDENT, '--threads', '2'])
    assert '--threads needs two or more counts' in capsys.readouterr().err
    with pytest.raises(TypeError, match='not an mmpretrain ImageClassifier'):
        thread_rounding.build_classifier(
            str(REPO / 'configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py'), 0)
