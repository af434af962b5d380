# FitNets-style feature mimic alone, RetinaNet X101-64x4d -> R50 on COCO: on FPN levels
# 0-3 a 1 x 1 conv connector on the student's feature and an MSE to the teacher's
# (mmrazor's ConvModuleConnector and L2Loss). It is exactly the "+ mimic" term of
# configs/pcka/pcka-mimic_fpn_retina-x101_retina-r50_2x_coco.py without PCKA, so the
# two rows of the leaderboard separate what PCKA adds to a plain mimic.
_base_ = [
    '../../pcka/pcka_fpn_retina-x101_retina-r50_2x_coco.py',
    '../../pcka/_base_/pcka_fpn_mimic.py',
]

model = dict(
    distiller=dict(
        connectors=_base_.pcka_fpn_mimic_distiller.connectors,
        distill_losses=dict(
            _delete_=True, **_base_.pcka_fpn_mimic_distiller.distill_losses),
        loss_forward_mappings=dict(
            _delete_=True,
            **_base_.pcka_fpn_mimic_distiller.loss_forward_mappings)))
