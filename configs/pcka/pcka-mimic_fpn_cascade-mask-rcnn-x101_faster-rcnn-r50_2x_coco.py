# PCKA + mimic (paper Tab. 3 "Ours + mimic"): the PCKA pair plus, on each FPN level
# 0-3, a conv connector on the student's feature and an MSE to the teacher's.
_base_ = [
    './pcka_fpn_cascade-mask-rcnn-x101_faster-rcnn-r50_2x_coco.py',
    './_base_/pcka_fpn_mimic.py',
]

model = dict(distiller=_base_.pcka_fpn_mimic_distiller)
