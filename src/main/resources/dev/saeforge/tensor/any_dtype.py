# Tensor operations in any dtype, bfloat16 included, as a TorchScript program: DJL's NDArray API
# aborts the process on bfloat16 (reference/djl-bf16-cuda.md), libtorch inside a program does not.
# dev.saeforge.tensor.AnyDtype is its Java side. Dtypes are c10::ScalarType numbers
# (5 float16, 6 float32, 7 float64, 15 bfloat16).

class AnyDtype(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool

  def empty(self: __torch__.AnyDtype, shape: List[int], dtype: int, device: str) -> Tensor:
    # Uninitialised, on `device` ("cpu", "cuda:0").
    return torch.empty(shape, dtype=dtype, device=torch.device(device))

  def copy_rows(self: __torch__.AnyDtype, target: Tensor, row: int, block: Tensor) -> None:
    # target[row : row + len(block)] = block, converting dtype and device as copy_ does.
    torch.copy_(torch.slice(target, 0, row, row + block.size(0)), block)

  def cast(self: __torch__.AnyDtype, x: Tensor, dtype: int) -> Tensor:
    return torch.to(x, dtype)

  def matmuls(self: __torch__.AnyDtype, inputs: List[Tensor], weights: List[Tensor]) -> Tensor:
    # inputs[i] @ weights[i].T for each i, as a linear layer computes it; one element of each
    # product, summed, as float32. Benchmarks time this as the bare-matmul bound of a forward pass. Each
    # product's element is used so that the graph optimizer, which unrolls loops, cannot drop
    # the products whose results a plain loop would overwrite unread.
    corners = annotate(List[Tensor], [])
    for i in range(len(weights)):
      corners.append(torch.select(torch.select(torch.linear(inputs[i], weights[i]), 0, 0), 0, 0))
    return torch.to(torch.sum(torch.stack(corners)), 6)
