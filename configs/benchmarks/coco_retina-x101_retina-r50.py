# Benchmark suite: RetinaNet X101-64x4d -> RetinaNet R50 on COCO 2017 (the PCKA paper's
# Tab. 3 pair), every method against the plain student over the same seeds. Run with
# tools/analysis/compare_methods.py (format: configs/benchmarks/README.md), COCO in
# data/coco/ (mmdet's layout), e.g. on one node with 4 GPUs per training:
#     python tools/analysis/compare_methods.py \
#         configs/benchmarks/coco_retina-x101_retina-r50.py --launcher pytorch --gpus 4
#
# Teacher: mmdet's model-zoo RetinaNet X101-64x4d (41.0 box AP), nothing is trained.
# Training budget, the same for the student and every method: mmdet's 2x schedule (24
# epochs, linear warm-up over 500 iterations, lr / 10 at epochs 16 and 22), SGD lr 0.01,
# momentum 0.9, weight decay 1e-4, 4 GPUs x 3 images (the PCKA paper's App. B setting,
# configs/pcka/_base_/pcka_fpn_distill.py); `cfg_options` below gives the student the
# same batch and lr, and the baselines take them from the PCKA base or set them.
_here = 'configs/benchmarks/coco/'  # the configs written for this suite
teacher = dict(checkpoint='https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_x101_64x4d_fpn_1x_coco/retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth')  # noqa: E501
student = dict(config=_here + 'retinanet_r50_fpn_2x_coco.py')
methods = [
    # ours
    dict(name='PCKA', config='configs/pcka/pcka_fpn_retina-x101_retina-r50_2x_coco.py'),
    dict(name='PCKA+mimic',
         config='configs/pcka/pcka-mimic_fpn_retina-x101_retina-r50_2x_coco.py'),
    # mmrazor's FPN distillers, and a FitNets-style L2 mimic
    dict(name='PKD', config=_here + 'pkd_fpn_retina-x101_retina-r50_2x_coco.py'),
    dict(name='CWD', config=_here + 'cwd_fpn_retina-x101_retina-r50_2x_coco.py'),
    dict(name='MGD', config=_here + 'mgd_fpn_retina-x101_retina-r50_2x_coco.py'),
    dict(name='FBKD', config=_here + 'fbkd_fpn_retina-x101_retina-r50_2x_coco.py'),
    dict(name='L2-mimic', config=_here + 'l2-mimic_fpn_retina-x101_retina-r50_2x_coco.py'),
]
metric = 'coco/bbox_mAP'
# mmdet's CocoMetric logs the mAP to 3 decimals: 0.001 is the smallest step of the
# metric (compare_methods.py floors the std of the paired differences at it)
metric_resolution = 0.001
cfg_options = {
    'train_dataloader.batch_size': 3,
    'optim_wrapper.optimizer.lr': 0.01,
    'auto_scale_lr.base_batch_size': 12,
}
seeds = [0, 1, 2]
