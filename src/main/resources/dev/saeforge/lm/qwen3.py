# Qwen3 as a TorchScript program: what transformers' modeling_qwen3.py computes, read top to bottom.
#
# SAE Forge archives this source at run time and runs it through DJL's PyTorch engine
# (dev.saeforge.lm.Qwen3Model is its Java side); `saeforge model program --out qwen3.pt` writes the
# archive, which torch.jit.load reads too. It is TorchScript's serialized dialect, the form
# torch.jit.save writes as code/__torch__.py: methods are typed, `self` is `__torch__.Qwen3`,
# dtypes are c10::ScalarType numbers (5 float16, 6 float32, 7 float64, 15 bfloat16).
#
# The program holds no state. Java reads the checkpoint, places each weight on the device in the
# compute dtype and passes them in:
#   embedding  model.embed_tokens.weight [vocab, hidden]
#   layers     eight tensors per decoder layer, layer l at 8*l .. 8*l+7:
#              0 input_layernorm  1 q_proj|k_proj|v_proj stacked on the output axis  2 q_norm  3 k_norm
#              4 o_proj  5 post_attention_layernorm  6 gate_proj|up_proj stacked  7 down_proj
#   dims       [num_attention_heads, num_key_value_heads, head_dim]
# Hook points (TransformerLens names) are numbered 6 * layer + site, sites in the order a layer
# reaches them: 0 hook_resid_pre, 1 hook_attn_out, 2 hook_resid_mid, 3 mlp.hook_post,
# 4 hook_mlp_out, 5 hook_resid_post.
#
# Memory: TorchScript frees each intermediate after its last use, so one decoder layer's
# intermediates are alive at a time, and scaled_dot_product_attention never holds the
# [heads, T, T] scores (a fused kernel on CPU, flash or memory-efficient attention on CUDA).

class Qwen3(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool

  def hooks(self: __torch__.Qwen3, tokens: Tensor, embedding: Tensor, layers: List[Tensor], dims: List[int],
            eps: float, theta: float, hooks: List[int]) -> List[Tensor]:
    # tokens: int64 [batch, T] windows, each starting at position 0; hooks: ascending hook numbers.
    # Returns the activation at each hook as float32 [batch * T, width]; then the residual stream
    # that the deepest hook's site adds to (what `resume` continues from); then a bool per layer
    # run: whether the layer's output was finite. (A sum is finite exactly when every term is;
    # summed in float32, which float16 values cannot overflow, it costs one pass.)
    deepest = hooks[len(hooks) - 1]
    cos, sin = self.rotary(tokens.size(1), dims[2], theta, embedding)
    h = torch.embedding(embedding, tokens)
    out = annotate(List[Tensor], [])
    sums = annotate(List[Tensor], [])
    for layer in range(deepest // 6 + 1):
      last_site = deepest - 6 * layer
      if last_site == 0:
        sites = [h]
      else:
        sites = self.decoder_layer(h, layers[8 * layer:8 * layer + 8], dims, eps, cos, sin, last_site > 2)
      for site in range(len(sites)):
        if 6 * layer + site in hooks:
          out.append(torch.to(torch.reshape(sites[site], [-1, sites[site].size(2)]), 6))
      sums.append(torch.sum(sites[len(sites) - 1], dtype=6))
      h = sites[self.residual_of(last_site)]
    out.append(h)
    out.append(torch.isfinite(torch.stack(sums)))
    return out

  def resume(self: __torch__.Qwen3, residual: Tensor, replacement: Tensor, hook: int, layers: List[Tensor], dims: List[int],
             eps: float, theta: float) -> Tensor:
    # The last layer's output [batch, T, hidden] when the activation at `hook` is `replacement`
    # (float32 [batch * T, width]); `residual` is what `hooks` returned for that hook.
    layer = hook // 6
    site = hook % 6
    w = layers[8 * layer:8 * layer + 8]
    cos, sin = self.rotary(residual.size(1), dims[2], theta, residual)
    x = torch.to(torch.reshape(replacement, [residual.size(0), residual.size(1), -1]), residual.dtype)
    if site == 0:
      h = self.decoder_layer(x, w, dims, eps, cos, sin, True)[5]
    elif site == 1:
      h = self.mlp_block(residual + x, w, eps)
    elif site == 2:
      h = self.mlp_block(x, w, eps)
    elif site == 3:
      h = residual + torch.linear(x, w[7])
    elif site == 4:
      h = residual + x
    else:
      h = x
    for later in range(layer + 1, len(layers) // 8):
      h = self.decoder_layer(h, layers[8 * later:8 * later + 8], dims, eps, cos, sin, True)[5]
    return h

  def logits(self: __torch__.Qwen3, h: Tensor, norm: Tensor, lm_head: Tensor, eps: float) -> Tensor:
    # float32 [..., vocab] from the last layer's output.
    return torch.to(torch.linear(torch.rms_norm(h, [h.size(-1)], norm, eps), lm_head), 6)

  def losses(self: __torch__.Qwen3, tokens: Tensor, outputs: List[Tensor], norm: Tensor, lm_head: Tensor, eps: float,
             chunk: int) -> Tensor:
    # Sums over the windows, float64: the next-token cross-entropy with outputs[0] (the clean run),
    # then for each other output its cross-entropy and KL(clean || it), summed over the vocabulary.
    # Cross-entropy counts positions t < T-1 (predicting token t+1); KL counts every position.
    # Logits exist for `chunk` tokens at a time, so their memory does not grow with the batch.
    batch = tokens.size(0)
    length = tokens.size(1)
    targets = torch.reshape(torch.cat([torch.slice(tokens, 1, 1), torch.slice(tokens, 1, 0, 1)], 1), [-1, 1])
    predicts = torch.reshape(torch.lt(torch.arange(length, device=tokens.device), length - 1).expand([batch, length]), [-1, 1])
    hidden = [torch.reshape(o, [batch * length, -1]) for o in outputs]
    sums = annotate(List[Tensor], [])
    for i in range(2 * len(outputs) - 1):
      sums.append(torch.zeros([], dtype=7, device=tokens.device))
    for start in range(0, batch * length, chunk):
      end = min(start + chunk, batch * length)
      target = torch.slice(targets, 0, start, end)
      counted = torch.slice(predicts, 0, start, end)
      clean = torch.log_softmax(self.logits(torch.slice(hidden[0], 0, start, end), norm, lm_head, eps), -1)
      sums[0] = sums[0] - torch.sum(torch.where(counted, torch.gather(clean, 1, target), 0.), dtype=7)
      for i in range(1, len(outputs)):
        other = torch.log_softmax(self.logits(torch.slice(hidden[i], 0, start, end), norm, lm_head, eps), -1)
        sums[2 * i - 1] = sums[2 * i - 1] - torch.sum(torch.where(counted, torch.gather(other, 1, target), 0.), dtype=7)
        sums[2 * i] = sums[2 * i] + torch.sum(torch.exp(clean) * (clean - other), dtype=7)
    return torch.stack(sums)

  def decoder_layer(self: __torch__.Qwen3, h: Tensor, w: List[Tensor], dims: List[int], eps: float, cos: Tensor, sin: Tensor,
                    through_mlp: bool) -> List[Tensor]:
    # The layer's hook sites in order: [resid_pre, attn_out, resid_mid, mlp_post, mlp_out, resid_post],
    # or only the first three when the MLP is not needed.
    attn_out = self.attention(torch.rms_norm(h, [h.size(-1)], w[0], eps), w, dims, eps, cos, sin)
    resid_mid = h + attn_out
    if not through_mlp:
      return [h, attn_out, resid_mid]
    mlp_post = self.mlp_post(torch.rms_norm(resid_mid, [h.size(-1)], w[5], eps), w[6])
    mlp_out = torch.linear(mlp_post, w[7])
    return [h, attn_out, resid_mid, mlp_post, mlp_out, resid_mid + mlp_out]

  def mlp_block(self: __torch__.Qwen3, resid_mid: Tensor, w: List[Tensor], eps: float) -> Tensor:
    # The second half of a decoder layer: resid_mid + down_proj(mlp_post).
    mlp_post = self.mlp_post(torch.rms_norm(resid_mid, [resid_mid.size(-1)], w[5], eps), w[6])
    return resid_mid + torch.linear(mlp_post, w[7])

  def attention(self: __torch__.Qwen3, x: Tensor, w: List[Tensor], dims: List[int], eps: float, cos: Tensor, sin: Tensor) -> Tensor:
    # Qwen3 self-attention: q/k/v projections, RMSNorm of each q and k head, rotary embeddings,
    # causal grouped-query attention scaled by 1/sqrt(head_dim), o_proj.
    batch = x.size(0)
    length = x.size(1)
    heads = dims[0]
    kv_heads = dims[1]
    head_dim = dims[2]
    q, k, v = torch.split(torch.linear(x, w[1]), [heads * head_dim, kv_heads * head_dim, kv_heads * head_dim], -1)
    q = torch.transpose(torch.rms_norm(torch.reshape(q, [batch, length, heads, head_dim]), [head_dim], w[2], eps), 1, 2)
    k = torch.transpose(torch.rms_norm(torch.reshape(k, [batch, length, kv_heads, head_dim]), [head_dim], w[3], eps), 1, 2)
    v = torch.transpose(torch.reshape(v, [batch, length, kv_heads, head_dim]), 1, 2)
    q = q * cos + self.rotate_half(q) * sin
    k = k * cos + self.rotate_half(k) * sin
    # transformers' repeat_kv: kv head j serves query heads j*g .. j*g+g-1. Repeating k and v costs
    # T * head_dim per head, and leaves the fused attention kernels every case they handle.
    k = torch.repeat_interleave(k, heads // kv_heads, 1)
    v = torch.repeat_interleave(v, heads // kv_heads, 1)
    context = torch.scaled_dot_product_attention(q, k, v, None, 0., True)
    return torch.linear(torch.reshape(torch.transpose(context, 1, 2), [batch, length, heads * head_dim]), w[4])

  def mlp_post(self: __torch__.Qwen3, x: Tensor, gate_up: Tensor) -> Tensor:
    # SiLU(gate_proj(x)) * up_proj(x): the input of down_proj (mlp.hook_post).
    gate, up = torch.chunk(torch.linear(x, gate_up), 2, -1)
    return torch.silu(gate) * up

  def rotate_half(self: __torch__.Qwen3, x: Tensor) -> Tensor:
    x1, x2 = torch.chunk(x, 2, -1)
    return torch.cat([torch.neg(x2), x1], -1)

  def rotary(self: __torch__.Qwen3, length: int, head_dim: int, theta: float, like: Tensor) -> Tuple[Tensor, Tensor]:
    # Rotary tables [T, head_dim] for positions 0 .. T-1 (the default rope type), computed in
    # float32 as transformers does and cast to the compute dtype of `like`:
    # inv_freq_j = 1 / theta^(2j / head_dim), angle = position * inv_freq, tables of [angles, angles].
    exponents = torch.div(torch.arange(0, head_dim, 2, dtype=6, device=like.device), head_dim)
    inv_freq = torch.reciprocal(torch.pow(theta, exponents))
    angles = torch.outer(torch.arange(length, dtype=6, device=like.device), inv_freq)
    table = torch.cat([angles, angles], -1)
    return torch.to(torch.cos(table), like.dtype), torch.to(torch.sin(table), like.dtype)

  def residual_of(self: __torch__.Qwen3, last_site: int) -> int:
    # Which site's value a replacement at `last_site` is added to (or stands in for): hook_attn_out
    # adds to hook_resid_pre, mlp.hook_post and hook_mlp_out to hook_resid_mid; beyond the layer,
    # hook_resid_post goes on to the next one.
    if last_site <= 1:
      return 0
    if last_site <= 4:
      return 2
    return 5
