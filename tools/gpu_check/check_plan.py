"""The GPU check's plan: its steps in order, each with the commands it runs (from the
repository root), its time budget and the steps it needs. Building the plan runs
nothing and imports neither torch nor OpenMMLab, so ``--dry-run`` works anywhere.

The steps (the issue's numbering in brackets):

* ``env``: the GPU, Python and torch the check runs on;
* ``install``: the carried wheels into a folder put first on ``PYTHONPATH``, with no
  network (``local_wheels.py``);
* ``mmcv``: mmcv's CUDA ops work on the GPU; built from the carried sdist when the
  carried wheel does not load (``provide_mmcv.py``);
* ``data``: a small copy of the embedded "shapes" dataset;
* [1] ``train-<method>-fp32`` / ``train-<method>-amp``: every toy distillation config
  trains 20 iterations (2 epochs of 10, so that KDA's landmarks, updated after the
  first epoch, take part) with random teachers, in float32 and with ``--amp``;
* [2] ``resume-deterministic`` / ``resume``: a run with a checkpoint every 5
  iterations, and a second run resumed from the one after iteration 15 (the middle of
  epoch 2); their final weights compared, with ``randomness.deterministic=True`` and
  without;
* [3] ``dist-train``: ``tools/dist_train.sh CONFIG 1`` (NCCL) trains and validates;
* [4] ``bench-pcka-iteration`` / ``bench-pcka``: the PCKA losses' share of a COCO-size
  RetinaNet X101 -> R50 iteration (goal at most 2%), and ``PCKALoss`` against its work
  floor.
"""
import shlex
from functools import partial
from pathlib import Path
from typing import Callable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import verdicts
from verdicts import Verdict

#: iterations of every toy training: ``EPOCHS`` epochs of ``ITERS_PER_EPOCH``
EPOCHS = 2
ITERS_PER_EPOCH = 10
#: the resumed run starts from the checkpoint after this iteration (mid epoch 2)
RESUME_FROM_ITER = 15
CHECKPOINT_EVERY = 5
#: shapes images generated for the check: about 2 classification crops per image, so
#: enough for 10 batches of 32 crops (classification) or 8 images (detection)
NUM_TRAIN_IMAGES = 256
NUM_VAL_IMAGES = 16
COCO_PCKA_CONFIG = 'configs/pcka/pcka_fpn_retina-x101_retina-r50_2x_coco.py'
#: the PCKA losses' share of a training iteration that the design aims at
PCKA_SHARE_GOAL = 0.02
ENV_SNIPPET = (
    'import json, platform, torch; cuda = torch.cuda.is_available(); '
    'print(json.dumps(dict(python=platform.python_version(), torch=torch.__version__, '
    'cuda=cuda, device=torch.cuda.get_device_name() if cuda else None, '
    'capability=\'.\'.join(map(str, torch.cuda.get_device_capability())) if cuda '
    'else None)))')


class ToyConfig(NamedTuple):
    """A toy distillation config and what the check must know to run it briefly."""

    method: str
    path: str
    #: the config's ``train_dataloader.batch_size`` (a test compares)
    batch: int
    #: members of its ``TeacherEnsemble``; 0 for a single teacher (``teacher_ckpt``)
    ensemble: int = 0


#: every toy distillation config: the families of tests/test_amp (PCKA, RCKA, KDA,
#: FKD + GNoRP alone and from an ensemble) and mAKD + GNoRP of the classification suite
TOY_CONFIGS = (
    ToyConfig('pcka', 'configs/shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py', 8),
    ToyConfig('rcka', 'configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py', 32),
    ToyConfig('kda', 'configs/kda/shapes/kda_before-fc_resnet20_resnet8_1xb32_shapes.py',
              32),
    ToyConfig('fkd-gnorp',
              'configs/fkd/fkd-gnorp_cifar10-resnet18_resnet20_1xb32_shapes.py', 32,
              ensemble=1),
    ToyConfig('fkd-gnorp-ensemble', 'configs/fkd/fkd-gnorp_ensemble-cifar10-resnet18-'
              'resnet34_resnet20_1xb32_shapes.py', 32, ensemble=2),
    ToyConfig('makd-gnorp',
              'configs/benchmarks/shapes/makd-gnorp_resnet20_resnet8_shapes.py', 32),
)
#: the resume steps train this one: its KDA loss keeps a partial epoch in its state
RESUME_TOY = TOY_CONFIGS[2]
#: the distributed step trains and validates the detection toy (mmcv's CUDA NMS and
#: pycocotools' COCO metric in the validation)
DIST_TOY = TOY_CONFIGS[0]


class Step(NamedTuple):
    """One row of the check's table."""

    name: str
    #: what it checks, one line
    what: str
    #: argument lists run one after the other from the repository root; the step
    #: stops at the first that fails
    commands: Tuple[Tuple[str, ...], ...]
    budget_s: float
    #: its status and result from its log and its commands' exit status
    verdict: Callable[[str, int], Verdict]
    #: steps that must have passed first (else this one is skipped)
    needs: Tuple[str, ...] = ()
    env: Mapping[str, str] = {}
    #: may run beside other such steps (``--jobs``); timings then share the GPU
    parallel: bool = False

    def describe(self) -> str:
        """The step as ``--dry-run`` prints it."""
        lines = [f'{self.name} (budget {self.budget_s:.0f} s'
                 + (', in parallel' if self.parallel else '')
                 + (f', needs {", ".join(self.needs)}' if self.needs else '')
                 + f'): {self.what}']
        env = ''.join(f'{key}={shlex.quote(value)} ' for key, value in self.env.items())
        lines += [f'    $ {env}{shlex.join(command)}' for command in self.commands]
        return '\n'.join(lines)


def toy_options(toy: ToyConfig, data_root: str, validate: bool = False) -> List[str]:
    """``--cfg-options`` of a toy training: the check's data, ``EPOCHS`` epochs of
    ``ITERS_PER_EPOCH`` iterations, every iteration logged, random teachers, and a
    validation after the last epoch only if ``validate``."""
    if toy.ensemble:
        teacher = [f'model.teacher.checkpoints=[{",".join(["None"] * toy.ensemble)}]']
    else:
        teacher = ['model.teacher_ckpt=None']
    return [f'data_root={data_root}/',
            f'train_dataloader.dataset.indices={ITERS_PER_EPOCH * toy.batch}',
            f'train_cfg.max_epochs={EPOCHS}',
            f'train_cfg.val_begin={EPOCHS if validate else EPOCHS + 1}',
            'default_hooks.logger.interval=1',
            *teacher, 'model.allow_random_teacher=True']


def train_command(python: str, config: str, work_dir: str, options: Sequence[str],
                  amp: bool = False, resume: Optional[str] = None) -> Tuple[str, ...]:
    """``tools/train.py`` with the given overrides."""
    return (python, 'tools/train.py', config, '--work-dir', work_dir,
            *(['--amp'] if amp else []), *(['--resume', resume] if resume else []),
            '--cfg-options', *options)


def _training_steps(python: str, work: Path, data_root: str) -> List[Step]:
    steps = []
    for toy in TOY_CONFIGS:
        for precision in ('fp32', 'amp'):
            name = f'train-{toy.method}-{precision}'
            work_dir = str(work / 'runs' / name)
            steps.append(Step(
                name, f'{Path(toy.path).name}, {EPOCHS * ITERS_PER_EPOCH} iterations '
                + ('with --amp (fp16)' if precision == 'amp' else 'in float32')
                + ': all losses finite',
                (train_command(python, toy.path, work_dir, toy_options(toy, data_root),
                               amp=precision == 'amp'),),
                budget_s=150,
                verdict=partial(verdicts.toy_training, Path(work_dir),
                                EPOCHS * ITERS_PER_EPOCH),
                needs=('env', 'mmcv', 'data'), parallel=True))
    return steps


def _resume_step(python: str, work: Path, data_root: str, deterministic: bool) -> Step:
    name = 'resume-deterministic' if deterministic else 'resume'
    whole, resumed = work / 'runs' / f'{name}-whole', work / 'runs' / f'{name}-resumed'
    options = [*toy_options(RESUME_TOY, data_root),
               'default_hooks.checkpoint.by_epoch=False',
               f'default_hooks.checkpoint.interval={CHECKPOINT_EVERY}',
               'default_hooks.checkpoint.max_keep_ckpts=-1',
               'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False',
               f'randomness.deterministic={deterministic}']
    last = f'iter_{EPOCHS * ITERS_PER_EPOCH}.pth'
    return Step(
        name, f'{Path(RESUME_TOY.path).name} resumed from iteration {RESUME_FROM_ITER} '
        f'(mid epoch) ends with the weights of the run never stopped'
        + (' (randomness.deterministic=True)' if deterministic else
           ' (default randomness: the difference is measured)'),
        (train_command(python, RESUME_TOY.path, str(whole), options),
         train_command(python, RESUME_TOY.path, str(resumed), options,
                       resume=str(whole / f'iter_{RESUME_FROM_ITER}.pth')),
         (python, 'tools/gpu_check/compare_weights.py', str(whole / last),
          str(resumed / last))),
        budget_s=240,
        verdict=partial(verdicts.resumed_weights, deterministic),
        needs=('env', 'mmcv', 'data'),
        # cuBLAS refuses deterministic algorithms without a fixed workspace
        env={'CUBLAS_WORKSPACE_CONFIG': ':4096:8'} if deterministic else {},
        parallel=True)


def build_plan(python: str, wheels: Path, site: Path, work: Path, out: Path,
               install: bool = True) -> List[Step]:
    """The check's steps in order. ``python`` runs every command (the GPU host's
    ``python3``); ``wheels`` is the carried folder, installed into ``site`` unless
    ``install`` is False (the current environment is used as it is); ``work`` holds
    the data and, under ``work/runs``, the work dirs; an mmcv wheel built from the
    sdist is copied to ``out``."""
    data_root = str(work / 'shapes')
    setup = [Step('env', 'the GPU, Python and torch the check runs on',
                  ((python, '-c', ENV_SNIPPET),), budget_s=60,
                  verdict=verdicts.environment)]
    if install:
        setup.append(Step(
            'install', f'the wheels in {wheels} installed with no network',
            ((python, 'tools/gpu_check/local_wheels.py', '--wheels', str(wheels),
              '--target', str(site)),),
            budget_s=120, verdict=verdicts.ran))
    setup.append(Step(
        'mmcv', "mmcv's CUDA ops run on the GPU"
        + (' (built from the carried sdist if the carried wheel does not load)'
           if install else ''),
        ((python, 'tools/gpu_check/provide_mmcv.py', '--target', str(site),
          '--wheels', str(wheels), '--cache', str(wheels.parent / 'build'),
          '--copy-built-to', str(out)) if install else
         (python, 'tools/gpu_check/provide_mmcv.py'),),
        budget_s=480, verdict=verdicts.ran,
        needs=('env', 'install') if install else ('env',)))
    setup.append(Step(
        'data', f'the shapes dataset, {NUM_TRAIN_IMAGES} / {NUM_VAL_IMAGES} images',
        ((python, 'tools/generate_shapes_dataset.py', '--out', data_root, '--num-train',
          str(NUM_TRAIN_IMAGES), '--num-val', str(NUM_VAL_IMAGES)),),
        budget_s=60, verdict=verdicts.ran, needs=('install',) if install else ()))

    dist_dir = work / 'runs' / 'dist-train'
    return [
        *setup,
        # the resumes first: two trainings each, they are the longest of the group
        _resume_step(python, work, data_root, deterministic=True),
        _resume_step(python, work, data_root, deterministic=False),
        *_training_steps(python, work, data_root),
        Step('dist-train', f'tools/dist_train.sh {DIST_TOY.path} 1 (NCCL): '
             f'{EPOCHS * ITERS_PER_EPOCH} iterations and a validation',
             (('bash', 'tools/dist_train.sh', DIST_TOY.path, '1', '--work-dir',
               str(dist_dir), '--cfg-options',
               *toy_options(DIST_TOY, data_root, validate=True)),),
             budget_s=180,
             verdict=partial(verdicts.distributed_training, dist_dir,
                             EPOCHS * ITERS_PER_EPOCH, 'coco/bbox_mAP'),
             needs=('env', 'mmcv', 'data'), env={'PYTHON': python, 'PORT': '29517'}),
        Step('bench-pcka-iteration',
             f'the PCKA losses\' share of a {Path(COCO_PCKA_CONFIG).name} training '
             f'iteration, batch 2 at 800 x 1333, random teacher '
             f'(goal at most {PCKA_SHARE_GOAL:.0%})',
             ((python, 'tools/benchmarks/bench_pcka_iteration.py', '--device', 'cuda',
               '--batch', '2', '--image-size', '800', '1333', '--iters', '20',
               '--config', COCO_PCKA_CONFIG),),
             budget_s=240, verdict=partial(verdicts.pcka_share, PCKA_SHARE_GOAL),
             needs=('env', 'mmcv')),
        Step('bench-pcka', 'PCKALoss against its work floor (RetinaNet FPN levels of an '
             '800 x 1333 input, forward + backward)',
             ((python, 'tools/benchmarks/bench_pcka.py', '--device', 'cuda', '--repeats',
               '10'),),
             budget_s=180, verdict=verdicts.pcka_floor, needs=('env', 'mmcv')),
    ]
