"""ExactResumeEpochBasedTrainLoop against the installed mmengine: it copies
``EpochBasedTrainLoop.run_epoch`` / ``run_iter`` and ``BaseLoop``'s build of the data,
so these tests fail when mmengine changes them, and a run that is not resumed must
call the hooks and train as mmengine's loop does."""
import hashlib
import inspect
import itertools

import mmengine
import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.runner import BaseLoop, EpochBasedTrainLoop, Runner
from torch.utils.data import Dataset

import mmrazor_relkd  # noqa: F401  (registers the loop)
from toy_classifier import ToyClassifier

_RUN_NUMBERS = itertools.count()

# sha256 of the source of what the loop copies, in mmengine 0.10.7
COPIED = {
    (EpochBasedTrainLoop, 'run_epoch'):
    '5a9b993c3e9727d48a734e1a627a30a0fa00151cf12626e58f9da757f354b3d9',
    (EpochBasedTrainLoop, 'run_iter'):
    '407a13390ddeff6dd2c9246bef2154d8fe1a1de8078414d8c43bf0c4a3d5f29f',
    (BaseLoop, '__init__'):
    'a7f5b5cce003a795c092320a4bcaeceff8de3b2be16d833f599bacc8638d6fc4',
}


@pytest.mark.parametrize('owner, name', sorted(COPIED, key=str),
                         ids=lambda value: getattr(value, '__name__', value))
def test_what_the_loop_copies_is_unchanged_in_mmengine(owner, name):
    source = inspect.getsource(getattr(owner, name))
    assert hashlib.sha256(source.encode()).hexdigest() == COPIED[owner, name], (
        f"mmengine {mmengine.__version__} changed {owner.__name__}.{name}: port the "
        'change to ExactResumeEpochBasedTrainLoop (mmrazor_relkd/engine/loops/'
        'exact_resume_loop.py), then record the new hash here')


class FixedData(Dataset):
    """Twelve fixed samples of three classes: no random draws."""

    def __len__(self) -> int:
        return 12

    def __getitem__(self, index: int) -> dict:
        inputs = torch.arange(6, dtype=torch.float).roll(index) / (index + 1)
        return dict(inputs=inputs, data_samples=torch.tensor(index % 3))


class Accuracy(BaseMetric):

    def process(self, data_batch, data_samples) -> None:
        predictions = torch.stack(list(data_samples)).argmax(1)
        self.results.extend((predictions == data_batch['data_samples']).tolist())

    def compute_metrics(self, results) -> dict:
        return dict(accuracy=sum(results) / len(results))


def _hook_calls_and_weights(work_dir, loop: str):
    loader = dict(dataset=FixedData(), batch_size=5, num_workers=0,
                  collate_fn=dict(type='default_collate'))
    torch.manual_seed(0)
    runner = Runner(
        model=ToyClassifier(),
        work_dir=str(work_dir),
        train_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=True)),
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=Evaluator(Accuracy()),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9),
                           accumulative_counts=2),
        train_cfg=dict(type=loop, max_epochs=3, val_begin=2, val_interval=1),
        default_hooks=dict(logger=None, checkpoint=None),
        randomness=dict(seed=0),
        experiment_name=f'test_exact_resume_loop_follows_mmengine_{next(_RUN_NUMBERS)}')
    calls = []
    call_hook = runner.call_hook

    def recorded(fn_name: str, **kwargs) -> None:
        calls.append((fn_name, runner.epoch, runner.iter, kwargs.get('batch_idx')))
        call_hook(fn_name, **kwargs)

    runner.call_hook = recorded
    return calls, runner.train().state_dict()


def test_a_run_that_is_not_resumed_is_mmengines(tmp_path):
    """The same hooks at the same epochs, iterations and batches, and the same weights."""
    calls, weights = _hook_calls_and_weights(tmp_path / 'exact',
                                             'ExactResumeEpochBasedTrainLoop')
    expected_calls, expected_weights = _hook_calls_and_weights(tmp_path / 'mmengine',
                                                               'EpochBasedTrainLoop')
    assert calls == expected_calls
    assert ('after_val_epoch', 3, 9, None) in calls  # 3 batches a epoch, validated
    assert weights.keys() == expected_weights.keys()
    for key, value in expected_weights.items():
        assert torch.equal(weights[key], value), key
