# Benchmark suite: the toy RetinaNet-R34 -> half-width RetinaNet-R18 pair on the
# embedded "shapes" images (4 classes), every method against the plain student over the
# same seeds. Run with tools/analysis/compare_methods.py (format:
# configs/benchmarks/README.md); generate the data first with
# `python tools/generate_shapes_dataset.py`.
#
# Training budget, the same for the student and every method: the optimiser of
# configs/shapes/_base_/retinanet_fpn_shapes.py (AdamW lr 1e-3, 50 warm-up iterations,
# cosine) over four epochs of 384 iterations (batch 8) instead of the configs' one, set
# below; the teacher trains 8. After four epochs the plain student's std over seeds is
# below 0.01 mAP (design runs: docs/benchmarks/shapes_detection.md); after one it is still
# climbing fast and its seeds spread several times as much, so a one-epoch table
# measures how far a loss speeds up the take-off, not what it adds at the end. A
# four-epoch teacher (0.874, design runs of 2026-12-06 on a 2-core AMD EPYC) was only
# 4.6x the student's std above its mean, so the
# teacher trains twice as long, once per suite. Each method keeps the settings of its
# mmrazor (or paper) recipe; the toy adaptations are documented in its config (the FPN
# levels P3-P5 for all, MGD without the teacher initialisation, FBKD without the extra
# max-pool).

# the keys that set the number of epochs (the cosine's length follows it)
_epoch_keys = ('train_cfg.max_epochs', 'train_cfg.val_interval', 'param_scheduler.1.end',
               'param_scheduler.1.T_max', 'default_hooks.checkpoint.interval')
_here = 'configs/benchmarks/shapes/'
_pair = '_fpn_retina-r34_retina-r18-w32_shapes.py'
teacher = dict(config='configs/shapes/retinanet_r34_fpn_shapes.py',
               cfg_options={key: 8 for key in _epoch_keys})
student = dict(config='configs/shapes/retinanet_r18-w32_fpn_shapes.py')
methods = [
    # ours
    dict(name='PCKA', config='configs/shapes/pcka' + _pair),
    dict(name='PCKA+mimic', config=_here + 'pcka-mimic' + _pair),
    # mmrazor's FPN distillers and a plain mimic
    dict(name='PKD', config=_here + 'pkd' + _pair),
    dict(name='CWD', config=_here + 'cwd' + _pair),
    dict(name='MGD', config=_here + 'mgd' + _pair),
    dict(name='FBKD', config=_here + 'fbkd' + _pair),
    dict(name='L2-mimic', config=_here + 'l2-mimic' + _pair),
]
metric = 'coco/bbox_mAP'
# mmdet's CocoMetric logs the mAP to 3 decimals: 0.001 is the smallest step of the
# metric (compare_methods.py floors the std of the paired differences at it)
metric_resolution = 0.001
cfg_options = {key: 4 for key in _epoch_keys}
seeds = [0, 1, 2, 3, 4]
