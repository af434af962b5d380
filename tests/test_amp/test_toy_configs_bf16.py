"""Every shipped toy distillation config trains a few iterations with its forward and
losses under CPU autocast (bfloat16) and gives finite, non-zero distillation losses.

mmengine's ``AmpOptimWrapper`` refuses to run without a GPU, so the optimizer wrapper
here opens ``torch.autocast('cpu', dtype=torch.bfloat16)`` in ``optim_context``, which
``BaseModel.train_step`` enters around the data preprocessor and the forward (the
backward and the optimizer step run outside, as with ``AmpOptimWrapper``). The data is
a tiny generated shapes dataset, resized smaller than the configs do (CPUs without
bfloat16 instructions emulate it, about 10x slower than float32); the teachers are
randomly initialised and loaded from a checkpoint written here.

Before every optimizer step the plugin's ``CheckInvalidGradHook`` check runs, so a NaN
or inf gradient fails the test at its source, naming the parameter (or, under the
detection configs' gradient clipping, the norm). With 64 px images these tests failed
at random: oneDNN's bf16 backward of a stride-2 convolution whose input is 1 pixel wide
returns garbage weight gradients on AVX-512 CPUs (``test_onednn_bf16_conv.py``), and
RetinaNet's last extra FPN convolution got a 1 x 1 map. The test now asserts that no
stride-2 convolution of the student sees a map 1 pixel wide, and seeds numpy too
(``RandomFlip`` draws from its global generator).
"""
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List

import pytest
import torch
from torch import nn

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import Runner, set_random_seed
from mmrazor.registry import MODELS as RAZOR_MODELS
from mmrazor.utils import register_all_modules
from mmrazor_relkd.datasets import generate_shapes_dataset
from mmrazor_relkd.engine.hooks import CheckInvalidGradHook
from mmrazor_relkd.models.losses.kda_loss import KDALoss

ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIGS = sorted(
    [*ROOT.glob('configs/shapes/pcka_*.py'), *ROOT.glob('configs/rcka/shapes/rcka_*.py'),
     *ROOT.glob('configs/kda/shapes/*.py'), *ROOT.glob('configs/fkd/*_shapes.py')])
BATCH_SIZE = 2
# input sizes here: 16 px crops for the CIFAR-style classifiers (their last stride-2
# convolutions see 4 px), 96 px detection images: FPN levels of 12, 6 and 3 px (3 x 3
# patches per level for PCKA), and the extra FPN convolutions (stride 2) see 3 and 2 px.
# Not 64 px: the last extra convolution would see 1 x 1, where oneDNN's bf16 backward
# returns garbage weight gradients on AVX-512 CPUs (test_onednn_bf16_conv.py).
CLASSIFICATION_SIZE = 16
DETECTION_SIZE = (96, 96)
ITERS_BEFORE_LANDMARKS = 2  # KDA: accumulate class means, then activate the loss
ITERS_AFTER_LANDMARKS = 2

pytestmark = pytest.mark.usefixtures('single_thread')


class CPUAutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward context is CPU autocast to bfloat16."""

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=torch.bfloat16):
            yield


@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory) -> str:
    """``tools/generate_shapes_dataset.py --num-train 16 --num-val 8`` into a tmp dir."""
    return str(generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes')),
                                       num_train=16, num_val=8))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT / 'configs'))


def test_every_family_has_a_toy_config():
    names = [_name(path) for path in TOY_CONFIGS]
    for family in ('shapes/pcka_', 'rcka/shapes/rcka_', 'kda/shapes/', 'fkd/'):
        assert any(name.startswith(family) for name in names), (family, names)


def _save_teachers(cfg: Config, out_dir: Path) -> None:
    """Build the config's teacher(s) with random weights, save them and point the
    config at the files (as a trained teacher would be given)."""
    teacher = cfg.model.teacher
    if teacher.get('type') == 'TeacherEnsemble':
        paths = []
        for index, member in enumerate(teacher.teachers):
            paths.append(str(out_dir / f'teacher{index}.pth'))
            torch.save(dict(state_dict=RAZOR_MODELS.build(member).state_dict()), paths[-1])
        teacher.checkpoints = paths
        return
    path = str(out_dir / 'teacher.pth')
    torch.save(dict(state_dict=MODELS.build(teacher).state_dict()), path)
    cfg.model.teacher_ckpt = path


def _tiny_train_loader(cfg: Config, shapes_root: str):
    loader = cfg.train_dataloader
    loader.update(batch_size=BATCH_SIZE, num_workers=0, persistent_workers=False)
    loader.dataset.data_root = shapes_root
    for transform in loader.dataset.pipeline:
        if transform.type.split('.')[-1] == 'Resize':
            transform.scale = (DETECTION_SIZE if isinstance(transform.scale, tuple)
                               else CLASSIFICATION_SIZE)
    return Runner.build_dataloader(loader, seed=0)


def _kda_losses(model: nn.Module) -> List[KDALoss]:
    return [module for module in model.modules() if isinstance(module, KDALoss)]


def _first_student_conv(model: nn.Module) -> nn.Module:
    return next(m for m in model.student.modules() if isinstance(m, nn.Conv2d))


def _record_strided_input_widths(model: nn.Module) -> Dict[str, int]:
    """The smallest input width each strided convolution of the student sees (filled
    in by the forwards that follow)."""
    widths: Dict[str, int] = {}

    def record(name: str, module: nn.Module, args: tuple) -> None:
        widths[name] = min(widths.get(name, args[0].shape[-1]), args[0].shape[-1])

    for name, module in model.student.named_modules():
        if isinstance(module, nn.Conv2d) and max(module.stride) >= 2:
            module.register_forward_pre_hook(partial(record, name))
    return widths


@pytest.mark.parametrize('path', TOY_CONFIGS, ids=_name)
def test_trains_under_bf16_autocast_with_finite_losses(path, shapes_root, tmp_path):
    register_all_modules(False)
    cfg = Config.fromfile(str(path))
    for loss in cfg.model.distiller.distill_losses.values():
        if loss.type == 'KDALoss':
            loss.warmup_epochs = 1  # active after the first landmark update
    set_random_seed(0)  # torch, numpy (RandomFlip) and random
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmrazor')):
        _save_teachers(cfg, tmp_path)
        model = MODELS.build(cfg.model)
        loader = _tiny_train_loader(cfg, shapes_root)
    optim_wrapper = build_optim_wrapper(
        model, dict(cfg.optim_wrapper, type=CPUAutocastOptimWrapper))
    conv_dtypes = []
    _first_student_conv(model).register_forward_hook(
        lambda module, args, output: conv_dtypes.append(output.dtype))
    strided_widths = _record_strided_input_widths(model)
    runner = SimpleNamespace(optim_wrapper=optim_wrapper, model=model, iter=0)
    grad_check = CheckInvalidGradHook()
    grad_check.before_train(runner)
    model.train()

    batches = iter(loader)
    log: List[Dict[str, float]] = []
    for step in range(ITERS_BEFORE_LANDMARKS + ITERS_AFTER_LANDMARKS):
        runner.iter = step
        if step == ITERS_BEFORE_LANDMARKS:
            for kda in _kda_losses(model):
                kda.update_landmarks()
        log_vars = model.train_step(next(batches), optim_wrapper)
        log.append({key: float(value) for key, value in log_vars.items()})

    grad_check.after_train(runner)

    assert conv_dtypes and all(dtype == torch.bfloat16 for dtype in conv_dtypes)
    one_pixel = {name: width for name, width in strided_widths.items() if width == 1}
    assert strided_widths and not one_pixel, f'1-px-wide strided inputs: {one_pixel}'
    for step, values in enumerate(log):
        bad = {key: value for key, value in values.items()
               if not torch.isfinite(torch.tensor(value))}
        assert not bad, f'iteration {step}: non-finite {bad}'
    distill = {key: value for key, value in log[-1].items() if key.startswith('distill.')}
    assert set(distill) == {f'distill.{name}'
                            for name in cfg.model.distiller.distill_losses}
    assert all(value > 0 for value in distill.values()), distill
    assert any(key.startswith('student.') for key in log[-1])
