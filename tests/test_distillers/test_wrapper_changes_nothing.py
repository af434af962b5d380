"""The wrapper alone changes nothing: building the distillation (teacher, distiller)
leaves the student's random-number stream alone, and a distillation whose loss weights
are all 0 trains, on deterministic CPU with the same seed, to exactly the weights of
the student trained alone."""
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from distill_algorithms import ALGORITHMS, algorithm_cfg, classifier, teacher_checkpoints
from mmrazor.registry import MODELS
from mmrazor_relkd.datasets import generate_shapes_dataset
from training_processes import finish_training, start_training

REPO = Path(__file__).resolve().parents[2]


def _rng_state():
    return (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())


def _assert_same_rng(a, b):
    assert torch.equal(a[0], b[0])
    assert np.array_equal(a[1], b[1])
    assert a[2] == b[2]


def _assert_same_weights(student, alone):
    assert student.keys() == alone.keys()
    different = [key for key in alone if not torch.equal(student[key], alone[key])]
    assert not different, f'{len(different)} of {len(alone)} differ: {different[:5]}'


@pytest.mark.parametrize('with_checkpoint', [True, False],
                         ids=['teacher_ckpt', 'random_teacher'])
@pytest.mark.parametrize('name', ALGORITHMS)
def test_the_student_starts_as_alone_and_leaves_the_same_random_stream(
        name, with_checkpoint, tmp_path, single_thread):
    """Build + init_weights, as the runner does, against the student alone."""
    checkpoints = teacher_checkpoints(name, str(tmp_path)) if with_checkpoint else None
    cfg = algorithm_cfg(name, checkpoints, allow_random_teacher=not with_checkpoint)
    for seed in (0, 1):
        torch.manual_seed(seed)
        alone = MODELS.build(classifier(8))
        alone.init_weights()
        expected_rng = _rng_state()

        torch.manual_seed(seed)
        algorithm = MODELS.build(cfg)
        algorithm.init_weights()
        _assert_same_rng(_rng_state(), expected_rng)
        _assert_same_weights(algorithm.student.state_dict(), alone.state_dict())


# the toy distillation configs and the plain-student configs they are compared with
PAIRS = [
    ('configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py',
     'configs/rcka/shapes/resnet8_1xb32_shapes.py'),
    ('configs/shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py',
     'configs/shapes/retinanet_r18-w32_fpn_shapes.py'),
]


@pytest.fixture(scope='module')
def tiny_shapes(tmp_path_factory) -> Path:
    return generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes')), num_train=16,
                                   num_val=8, seed=1)


def _train_options(config: str, data_root: Path) -> list:
    """1 epoch of batches of 4 on the tiny data, deterministic, no validation."""
    cfg = Config.fromfile(str(REPO / config))
    options = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=10',
               'randomness.deterministic=True', 'train_dataloader.batch_size=4',
               'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
               'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
               'default_hooks.checkpoint.interval=1']
    options += [f'{loader}.dataset.data_root={data_root}/'
                for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    if 'val_evaluator' in cfg and 'ann_file' in cfg.val_evaluator:
        options += [f'{ev}.ann_file={data_root}/annotations/instances_val.json'
                    for ev in ('val_evaluator', 'test_evaluator')]
    return options


def _zero_loss_weights(config: str) -> list:
    """cfg-options that set every weight of every distillation loss to 0."""
    losses = Config.fromfile(str(REPO / config)).model.distiller.distill_losses
    options = [f'model.distiller.distill_losses.{name}.{key}=0'
               for name, loss in losses.items() for key, value in loss.items()
               if key.endswith('weight') and isinstance(value, (int, float))]
    assert options
    return options


def _final_weights(started, work_dir: Path) -> dict:
    """The state dict a started 1-epoch training in ``work_dir`` ends with."""
    returncode, output = finish_training(started)
    assert returncode == 0, output
    return torch.load(work_dir / 'epoch_1.pth', weights_only=False)['state_dict']


@pytest.mark.parametrize('distill_config, student_config', PAIRS,
                         ids=['rcka_classification', 'pcka_detection'])
def test_zero_weight_distillation_trains_exactly_the_student_alone(
        distill_config, student_config, tiny_shapes, tmp_path):
    alone = start_training(student_config, tmp_path / 'alone',
                           _train_options(student_config, tiny_shapes))
    teacher = Config.fromfile(str(REPO / distill_config)).model.teacher
    teacher_ckpt = tmp_path / 'teacher.pth'
    torch.manual_seed(7)
    model = MODELS.build(teacher)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict()), teacher_ckpt)
    distilled = start_training(distill_config, tmp_path / 'distill',
                               _train_options(distill_config, tiny_shapes)
                               + _zero_loss_weights(distill_config)
                               + [f'model.teacher_ckpt={teacher_ckpt}'])
    alone = _final_weights(alone, tmp_path / 'alone')
    distilled = _final_weights(distilled, tmp_path / 'distill')
    student = {key[len('architecture.'):]: value for key, value in distilled.items()
               if key.startswith('architecture.')}
    _assert_same_weights(student, alone)
    # the runs trained: the student moved away from its initialisation
    torch.manual_seed(0)
    init = MODELS.build(Config.fromfile(str(REPO / student_config)).model)
    init.init_weights()
    assert any(not torch.equal(init.state_dict()[key], alone[key]) for key in alone
               if key.endswith('weight'))
