# FitNets-style feature mimic alone, toy RetinaNet-R34 -> half-width R18 on "shapes":
# the "+ mimic" term of pcka-mimic_fpn_retina-r34_retina-r18-w32_shapes.py without
# PCKA (1 x 1 conv connector on the student's P3-P5 and an MSE to the teacher's; see
# _base_/fpn_levels_shapes.py), so the leaderboard separates what PCKA adds to a plain
# mimic.
_base_ = ['./_base_/fpn_levels_shapes.py']

model = dict(
    distiller=dict(
        connectors=_base_.mimic_distiller.connectors,
        distill_losses=dict(_delete_=True, **_base_.mimic_distiller.distill_losses),
        loss_forward_mappings=dict(
            _delete_=True, **_base_.mimic_distiller.loss_forward_mappings)))
