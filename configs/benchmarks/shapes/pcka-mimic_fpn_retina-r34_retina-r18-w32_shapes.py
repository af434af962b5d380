# PCKA + mimic (paper Tab. 3 "Ours + mimic"), toy RetinaNet-R34 -> half-width R18 on
# "shapes": the toy PCKA config plus, on P3-P5, the mimic term of
# configs/pcka/_base_/pcka_fpn_mimic.py (1 x 1 conv connector, MSE weight 1) at the
# toy's 64 channels (see _base_/fpn_levels_shapes.py).
_base_ = ['./_base_/fpn_levels_shapes.py']

model = dict(distiller=_base_.mimic_distiller)
