# torch.optim.Adam's update, as one fused pass per parameter: torch's own fused kernel
# (aten::_fused_adam_, what Adam(fused=True) runs, on the CPU as on CUDA), which DJL's NDArray API
# cannot call. dev.saeforge.train.Adam is its Java side and keeps the moments and the step count.

class Adam(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool

  def step(self: __torch__.Adam, params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor], steps: List[Tensor], lr: float, beta1: float, beta2: float, eps: float) -> None:
    # steps: each parameter's update count after this update, as float32 scalars on the parameters' device.
    torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, annotate(List[Tensor], []), steps, lr=lr, beta1=beta1, beta2=beta2, weight_decay=0., eps=eps, amsgrad=False, maximize=False)
    return None
