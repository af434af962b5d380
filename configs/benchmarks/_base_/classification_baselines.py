# mmrazor's classification baselines as ConfigurableDistiller dicts, shared by the
# suites' method configs (each states its settings and their source). Every pair
# records the logits at `head.fc`, the pooled features at `neck` (a tuple: data_idx=-1)
# and the labels as the second input of the student's `head.loss_module`.
_logits = dict(type='ModuleOutputs', source='head.fc')
_pooled = dict(type='ModuleOutputs', source='neck')
_labels = dict(type='ModuleInputs', source='head.loss_module')
_logits_S = dict(from_student=True, recorder='logits')
_logits_T = dict(from_student=False, recorder='logits')
_pooled_pair = dict(
    preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
    preds_T=dict(from_student=False, recorder='feat', data_idx=-1))

baseline_distillers = dict(
    kd=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(logits=_logits),
        teacher_recorders=dict(logits=_logits),
        distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4, loss_weight=0.9)),
        loss_forward_mappings=dict(loss_kd=dict(preds_S=_logits_S, preds_T=_logits_T))),
    dkd=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(logits=_logits, labels=_labels),
        teacher_recorders=dict(logits=_logits),
        distill_losses=dict(
            loss_dkd=dict(type='DKDLoss', tau=4, alpha=1, beta=8, loss_weight=1)),
        loss_forward_mappings=dict(
            loss_dkd=dict(
                preds_S=_logits_S,
                preds_T=_logits_T,
                gt_labels=dict(from_student=True, recorder='labels', data_idx=1)))),
    dist=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(logits=_logits),
        teacher_recorders=dict(logits=_logits),
        distill_losses=dict(
            loss_dist=dict(type='DISTLoss', inter_loss_weight=1.0, intra_loss_weight=1.0,
                           tau=1, loss_weight=2)),
        loss_forward_mappings=dict(
            loss_dist=dict(logits_S=_logits_S, logits_T=_logits_T))),
    rkd=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(feat=_pooled),
        teacher_recorders=dict(feat=_pooled),
        distill_losses=dict(
            loss_rkd_distance=dict(
                type='DistanceWiseRKD', loss_weight=25, with_l2_norm=False),
            loss_rkd_angle=dict(
                type='AngleWiseRKD', loss_weight=50, with_l2_norm=False)),
        loss_forward_mappings=dict(
            loss_rkd_distance=_pooled_pair, loss_rkd_angle=_pooled_pair)))
