# The FCKA, LCKA and RCKA distillers for mmpretrain classifiers (Zhou et al.,
# "Rethinking Centered Kernel Alignment in Knowledge Distillation", IJCAI 2024,
# Sec. 3.3, Eq. 4-8; loss weights from App. B):
#   fcka: CE + alpha * FCKALoss on the output of the last backbone stage (each
#         sample's C x H x W map flattened to one row; teacher and student may
#         differ in C, H and W, the Gram matrices are B x B),
#   lcka: CE + beta * (intra + inter) LCKALoss on the logits of `head.fc`,
#   rcka: CE + both.
# Weights: `cka_distillers` has alpha = beta = 5 (App. B, stated for ImageNet);
# `cka_distillers_cifar100` has beta = 15 for the intra and the inter LCKA term, the
# released CIFAR-100 code's value (Klayand/Distill_Knowledge icme_main.py,
# `CenterKernelAlignmentRKD(inter_weight=15, intra_weight=15)`; the paper states no
# CIFAR value), and alpha = 5 (the released code has no FCKA; App. B's value).
# A distillation config picks one: `model = dict(distiller=_base_.cka_distillers.rcka)`.
# The loss keys are `loss_fcka` and `loss_lcka`; a config inheriting one changes an
# argument by merging, e.g.
# `model = dict(distiller=dict(distill_losses=dict(loss_fcka=dict(loss_weight=2.))))`.
# The paper does not name the feature layer of FCKA: we use the last backbone stage
# before pooling (`data_idx=-1` of the backbone's output tuple).
# The losses live in this package: a config using these sets
# `custom_imports = dict(imports=['mmrazor_relkd'], allow_failed_imports=False)`.


def _cka_distiller(feature_loss: bool, logit_loss: bool, alpha: float,
                   beta: float) -> dict:
    """A ConfigurableDistiller with the FCKA and / or the LCKA loss."""
    recorders, losses, mappings = {}, {}, {}
    if feature_loss:
        recorders['feat'] = dict(type='ModuleOutputs', source='backbone')
        losses['loss_fcka'] = dict(type='FCKALoss', loss_weight=alpha)
        mappings['loss_fcka'] = dict(
            preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
            preds_T=dict(from_student=False, recorder='feat', data_idx=-1))
    if logit_loss:
        recorders['logits'] = dict(type='ModuleOutputs', source='head.fc')
        losses['loss_lcka'] = dict(
            type='LCKALoss', loss_weight=beta, inter_weight=beta)
        mappings['loss_lcka'] = dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))
    return dict(
        type='ConfigurableDistiller',
        student_recorders=recorders,
        teacher_recorders=recorders,
        distill_losses=losses,
        loss_forward_mappings=mappings)


def _cka_distillers(alpha: float, beta: float) -> dict:
    """The fcka, lcka and rcka distillers with these weights."""
    return dict(
        fcka=_cka_distiller(True, False, alpha, beta),
        lcka=_cka_distiller(False, True, alpha, beta),
        rcka=_cka_distiller(True, True, alpha, beta))


cka_distillers = _cka_distillers(alpha=5.0, beta=5.0)
cka_distillers_cifar100 = _cka_distillers(alpha=5.0, beta=15.0)
