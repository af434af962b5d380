# Benchmark suite: the toy RetinaNet-R34 -> half-width RetinaNet-R18 pair on the
# embedded "shapes" images (4 classes), every method against the plain student over the
# same seeds. Run with tools/analysis/compare_methods.py (format:
# configs/benchmarks/README.md); generate the data first with
# `python tools/generate_shapes_dataset.py`.
#
# Training budget, the same for the student and every method: the schedule of
# configs/shapes/_base_/retinanet_fpn_shapes.py (one epoch of 384 iterations, batch 8,
# AdamW lr 1e-3, 50 warm-up iterations, cosine),
# which every config below inherits unchanged. The teacher is trained once with its
# own config. Each method keeps the settings of its mmrazor (or paper) recipe; the toy
# adaptations are documented in its config (the FPN levels P3-P5 for all, MGD without
# the teacher initialisation, FBKD without the extra max-pool).
_here = 'configs/benchmarks/shapes/'
_pair = '_fpn_retina-r34_retina-r18-w32_shapes.py'
teacher = dict(config='configs/shapes/retinanet_r34_fpn_shapes.py')
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
seeds = [0, 1, 2]
