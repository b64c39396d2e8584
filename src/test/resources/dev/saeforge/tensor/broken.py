# A program libtorch must refuse: `sum` takes a tensor, not a string.
class Broken(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool

  def run(self: __torch__.Broken, x: Tensor) -> Tensor:
    return torch.sum("x")
