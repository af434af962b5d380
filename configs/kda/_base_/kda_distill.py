# The parts of every KDA distillation config that do not depend on the data set:
# mmrazor's SingleTeacherDistill (the teacher frozen, its BN in eval mode), the hook that
# updates the KDA landmarks after each training epoch and logs the transfer
# diagnostics. A config using it also sets the validation loop that reports student
# and teacher accuracy:
#     val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
# (here it would clash with the val_cfg of the data set's base).
model = dict(_scope_='mmrazor', type='SingleTeacherDistill')

custom_hooks = [dict(type='KDALandmarkHook')]
