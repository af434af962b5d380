"""Stop training before an optimizer step applies a NaN or infinite gradient, and
before a convolution that oneDNN's bfloat16 kernels get wrong computes one.

A non-finite gradient does not stop mmengine's training, it spreads: with
``clip_grad=dict(max_norm=...)`` one norm is taken over all gradients, so a NaN makes
every gradient NaN (and, after the step, every weight), and an infinite norm scales
every gradient to 0, so the step silently trains nothing. mmdet's
``CheckInvalidLossHook`` looks at the loss only, which stays finite in the second case
(and in the first one until the next iteration).

One known source: on CPUs with AVX-512, oneDNN's bfloat16 backward of a convolution
with a horizontal stride >= 2 and a kernel wider than 1 returns garbage weight
gradients when its input is 1 pixel wide (oneDNN 3.12 in torch 2.14; measured: NaN,
1e34, but also finite values such as -1432 or 9.06 where the gradient is 0). Finite
garbage passes every check on gradients, so the hook refuses such a convolution in
the forward.
"""
import math
import os
from functools import partial
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import HOOKS
from torch import nn
from torch.utils.hooks import RemovableHandle

MAX_NAMED_PARAMETERS = 5
ONEDNN_FIXES = (
    "make the input larger (or raise the data preprocessor's pad_size_divisor) so that "
    'no stride-2 convolution sees a map 1 pixel wide, start Python with '
    'ONEDNN_MAX_CPU_ISA=AVX2, or train in float32')
CAUSES = (
    'Common causes: a diverging loss or learning rate; and, when the forward runs in '
    'bfloat16 on the CPU (autocast), a oneDNN bug on CPUs with AVX-512: a convolution '
    'of stride >= 2 whose input is 1 pixel wide gets a garbage weight gradient. For '
    f'that bug, {ONEDNN_FIXES}.')


@HOOKS.register_module()
class CheckInvalidGradHook(Hook):
    """Raise ``FloatingPointError`` when an optimizer step is about to apply a NaN or
    infinite gradient, before the weights change.

    The check runs just before each ``optimizer.step()`` (a step pre-hook of every
    optimizer of ``runner.optim_wrapper``, registered in ``before_train``):

    * with ``clip_grad=dict(max_norm=...)``: the gradient norm before clipping, as the
      optimizer wrapper has just logged it (``train/grad_norm``), must be finite.
      No extra computation. An infinite norm from finite gradients (an entry above
      about 1e19) is caught too: clipping would have scaled every gradient to 0.
    * otherwise every gradient entry must be finite (one pass over the gradients);
      the error names the parameters whose gradients are not.

    With ``onednn_bf16_conv_check`` (and only where bfloat16 convolutions run in
    oneDNN's AVX-512 kernels: an AVX-512 CPU, oneDNN enabled and not limited by
    ``ONEDNN_MAX_CPU_ISA``), every ``nn.Conv2d`` of the model with a horizontal stride
    >= 2 and a kernel wider than 1 also gets a forward pre-hook that raises
    ``ValueError`` when its input is 1 pixel wide, in bfloat16 or under CPU bfloat16
    autocast, with gradients enabled: the weight gradient would be garbage.

    Steps that a loss scaler skips are left alone: ``AmpOptimWrapper``'s
    ``GradScaler`` does not call ``optimizer.step()`` when it finds an inf or NaN
    (fp16 dynamic loss scaling then lowers the scale and goes on), and for fused
    optimizers it sets ``optimizer.found_inf``, which this hook respects.

    Example::

        default_hooks = dict(check_invalid_grad=dict(type='CheckInvalidGradHook'))

    Args:
        onednn_bf16_conv_check: refuse the convolutions described above.
    """

    priority = 'NORMAL'

    def __init__(self, onednn_bf16_conv_check: bool = True) -> None:
        self.onednn_bf16_conv_check = onednn_bf16_conv_check
        self._handles: List[RemovableHandle] = []

    def before_train(self, runner) -> None:
        self._remove_handles()
        optim_wrapper = runner.optim_wrapper
        wrappers: Dict[str, OptimWrapper] = (
            dict(optim_wrapper.items()) if isinstance(optim_wrapper, OptimWrapperDict)
            else {'': optim_wrapper})
        for name, wrapper in wrappers.items():
            self._handles.append(wrapper.optimizer.register_step_pre_hook(
                partial(self._check, runner, name, wrapper)))
        if self.onednn_bf16_conv_check and _onednn_avx512_bf16_convolutions():
            for name, module in runner.model.named_modules():
                if isinstance(module, nn.Conv2d) and module.stride[1] >= 2 and \
                        module.kernel_size[1] > 1:
                    self._handles.append(module.register_forward_pre_hook(
                        partial(_refuse_one_pixel_wide_bf16_input, name)))

    def after_train(self, runner) -> None:
        self._remove_handles()

    def _remove_handles(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _check(self, runner, name: str, wrapper: OptimWrapper,
               optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        """Raise if the step about to run would apply a non-finite gradient (the
        signature of a step pre-hook after the bound ``runner, name, wrapper``)."""
        found_inf = getattr(optimizer, 'found_inf', None)
        if found_inf is not None and found_inf.item():
            return  # a GradScaler told this (fused) optimizer to skip the step
        where = (f'CheckInvalidGradHook: iteration {runner.iter + 1}'
                 + (f", optimizer '{name}'" if name else ''))
        grad_norm = self._clipped_grad_norm(wrapper)
        if grad_norm is not None:
            if not math.isfinite(grad_norm):
                raise FloatingPointError(
                    f'{where}: the gradient norm before clipping is {grad_norm} '
                    f'(clip_grad={wrapper.clip_grad_kwargs}); clipping by it makes the '
                    f'gradients NaN or 0, so the step was stopped before it changed '
                    f'the weights. Without clip_grad, the parameters whose gradients '
                    f'are NaN or inf are named. {CAUSES}')
            return
        bad = self._non_finite_grads(optimizer, runner.model)
        if bad:
            names = ', '.join(bad[:MAX_NAMED_PARAMETERS]) + (
                f' and {len(bad) - MAX_NAMED_PARAMETERS} more'
                if len(bad) > MAX_NAMED_PARAMETERS else '')
            raise FloatingPointError(
                f'{where}: NaN or inf gradients in {names}; the step was stopped '
                f'before it changed the weights. {CAUSES}')

    @staticmethod
    def _clipped_grad_norm(wrapper: OptimWrapper) -> Optional[float]:
        """The pre-clipping norm that the wrapper logged in this step, if it clips
        by norm (``OptimWrapper._clip_grad`` runs just before ``optimizer.step``)."""
        if not getattr(wrapper, 'clip_grad_kwargs', None) or \
                getattr(wrapper, 'grad_name', None) != 'grad_norm':
            return None
        buffer = wrapper.message_hub.log_scalars.get('train/grad_norm')
        return None if buffer is None else float(buffer.current())

    @staticmethod
    def _non_finite_grads(optimizer: torch.optim.Optimizer,
                          model: nn.Module) -> List[str]:
        """Names of the optimizer's parameters whose gradient has a NaN or inf."""
        params = [param for group in optimizer.param_groups for param in group['params']
                  if param.grad is not None]
        if not params:
            return []
        finite = torch.stack([torch.isfinite(param.grad).all() for param in params])
        if finite.all():
            return []
        names = {id(param): name for name, param in model.named_parameters()}
        return [names.get(id(param), f'<unnamed {tuple(param.shape)}>')
                for param, ok in zip(params, finite.tolist()) if not ok]


def _onednn_avx512_bf16_convolutions() -> bool:
    """Whether bfloat16 CPU convolutions run in oneDNN's AVX-512 kernels: an AVX-512
    CPU, oneDNN available and enabled, ``ONEDNN_MAX_CPU_ISA`` unset or AVX-512."""
    isa = os.environ.get('ONEDNN_MAX_CPU_ISA', os.environ.get('DNNL_MAX_CPU_ISA', ''))
    limited = isa.upper() not in ('', 'ALL', 'DEFAULT') and '512' not in isa
    return (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
            and torch.backends.cpu.get_cpu_capability().startswith('AVX512')
            and not limited)


def _cpu_bf16_autocast() -> bool:
    if hasattr(torch, 'get_autocast_dtype'):  # torch >= 2.4
        return (torch.is_autocast_enabled('cpu')
                and torch.get_autocast_dtype('cpu') == torch.bfloat16)
    return torch.is_autocast_cpu_enabled() and \
        torch.get_autocast_cpu_dtype() == torch.bfloat16


def _refuse_one_pixel_wide_bf16_input(name: str, module: nn.Conv2d,
                                      args: Tuple) -> None:
    """Forward pre-hook: raise if oneDNN would compute this convolution's weight
    gradient from a 1-pixel-wide bfloat16 input."""
    inputs = args[0]
    if inputs.shape[-1] != 1 or inputs.device.type != 'cpu' or \
            not (torch.is_grad_enabled() and module.weight.requires_grad):
        return
    if inputs.dtype == torch.bfloat16 or _cpu_bf16_autocast():
        raise ValueError(
            f"CheckInvalidGradHook: the convolution '{name}' (kernel "
            f'{tuple(module.kernel_size)}, stride {tuple(module.stride)}) gets an input '
            f'1 pixel wide, {tuple(inputs.shape)}, in bfloat16 on a CPU with AVX-512: '
            f"oneDNN's bfloat16 backward returns garbage weight gradients for it (a "
            f'oneDNN bug; often finite values, which no later check can tell from real '
            f'ones). To avoid it, {ONEDNN_FIXES}; '
            f'CheckInvalidGradHook(onednn_bf16_conv_check=False) turns this check off.')
