# The toy RCKA pair of rcka_resnet20_resnet8_1xb32_shapes.py with CKAMonitorHook: the
# teacher-student CKA of the logits and of the last backbone stage (the recorders the
# RCKA losses already use) goes to the text log and vis_data/scalars.json as
# `cka/logits` and `cka/features`, every 8 training iterations (the logger's interval,
# which the hook's must divide) and averaged over each validation. Plot it with
# `python tools/analysis/plot_cka.py WORK_DIR --out cka.png`.
_base_ = ['../rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py']

custom_hooks = [
    dict(
        type='CKAMonitorHook',
        interval=8,
        pairs=dict(
            logits=('logits', 'logits'),
            features=(dict(recorder='feat', data_idx=-1),
                      dict(recorder='feat', data_idx=-1))))
]
