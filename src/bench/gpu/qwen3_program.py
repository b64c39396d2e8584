#!/usr/bin/env python3
"""SAE Forge's Qwen3 TorchScript program against transformers' Qwen3 forward, in one process.

The program is what the trainer runs (src/main/resources/dev/saeforge/lm/qwen3.py); write its
archive with `saeforge model program --out qwen3.pt` on any machine with the JVM, then run this
where PyTorch and a GPU are:

    python3 src/bench/gpu/qwen3_program.py --program qwen3.pt            # Qwen3-8B shapes, to blocks.28.hook_mlp_out
    python3 src/bench/gpu/qwen3_program.py --program qwen3.pt --shape tiny --device cpu   # a dry run anywhere

Both models get the same random weights (transformers' initialisation, in bfloat16), the same
windows and the same precision, and run to the same layer: transformers' Qwen3Model built with
layer+1 decoder layers (the LM path SAELens uses, with SDPA attention), the program to the hook.
Each batch shape is timed alternately, best of --repetitions after a warm-up. Prints one JSON
object: tokens/s of each, their ratio (program / transformers), peak device memory of each
forward above what was allocated before it (the weights), and how far the two models' outputs of
the hook's layer differ. Needs only python3 with torch and transformers; no network.
"""
import argparse
import json
import statistics
import time

import torch
import transformers

SHAPES = {
    # Qwen/Qwen3-8B's config.json.
    "8b": dict(hidden_size=4096, intermediate_size=12288, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
               vocab_size=151936, rope_theta=1000000.0, rms_norm_eps=1e-6, layer=28, batches=[(32, 128), (8, 1024)]),
    # Small enough for a CPU: checks the script and the program, times nothing of interest.
    "tiny": dict(hidden_size=256, intermediate_size=768, num_attention_heads=4, num_key_value_heads=2, head_dim=64,
                 vocab_size=1000, rope_theta=1000000.0, rms_norm_eps=1e-6, layer=3, batches=[(4, 32), (2, 128)]),
}
SITES = 6      # hook sites per layer, in the program's numbering: 6 * layer + site
MLP_OUT = 4
RESID_POST = 5


def transformers_model(shape, layers, device):
    config = transformers.Qwen3Config(
        hidden_size=shape["hidden_size"], intermediate_size=shape["intermediate_size"],
        num_attention_heads=shape["num_attention_heads"], num_key_value_heads=shape["num_key_value_heads"],
        head_dim=shape["head_dim"], vocab_size=shape["vocab_size"], rope_theta=shape["rope_theta"],
        rms_norm_eps=shape["rms_norm_eps"], num_hidden_layers=layers, tie_word_embeddings=False,
        max_position_embeddings=40960, use_sliding_window=False, attn_implementation="sdpa")
    # Built as from_pretrained(dtype=torch.bfloat16) builds it: parameters made in bfloat16, the
    # rotary inv_freq buffer kept in float32 (model.to(torch.bfloat16) would round it too).
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            model = transformers.Qwen3Model(config)
    finally:
        torch.set_default_dtype(default)
    assert model.rotary_emb.inv_freq.dtype == torch.float32, model.rotary_emb.inv_freq.dtype
    return model.eval()


def program_weights(model):
    """The program's argument layout (qwen3.py's header): eight tensors per decoder layer."""
    layers = []
    for layer in model.layers:
        attention, mlp = layer.self_attn, layer.mlp
        layers += [layer.input_layernorm.weight,
                   torch.cat([attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight]),
                   attention.q_norm.weight, attention.k_norm.weight, attention.o_proj.weight,
                   layer.post_attention_layernorm.weight,
                   torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]), mlp.down_proj.weight]
    return model.embed_tokens.weight, [w.detach() for w in layers]


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def seconds(fn, device):
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def peak_mib_above_now(fn, device):
    if not device.startswith("cuda"):
        return None
    synchronize(device)
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    fn()
    synchronize(device)
    return (torch.cuda.max_memory_allocated() - before) / 2 ** 20


def layer_output(model, layer, tokens):
    """transformers' output of decoder layer `layer` (its hook_resid_post), caught by a forward hook."""
    caught = {}

    def catch(module, inputs, output):
        caught["out"] = output[0] if isinstance(output, tuple) else output

    handle = model.layers[layer].register_forward_hook(catch)
    try:
        model(input_ids=tokens, use_cache=False)
    finally:
        handle.remove()
    return caught["out"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--program", required=True, help="the archive `saeforge model program --out` wrote")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="8b")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    shape = SHAPES[args.shape]
    layer = shape["layer"]
    device = args.device
    torch.manual_seed(0)

    with torch.inference_mode():
        model = transformers_model(shape, layer + 1, device)
        program = torch.jit.load(args.program, map_location=device)
        embedding, layers = program_weights(model)
        dims = [shape["num_attention_heads"], shape["num_key_value_heads"], shape["head_dim"]]
        eps, theta = shape["rms_norm_eps"], shape["rope_theta"]
        hook = SITES * layer + MLP_OUT

        def run_program(tokens, hooks):
            return program.hooks(tokens, embedding, layers, dims, eps, theta, hooks)

        # Agreement: both models' output of the hook's layer, on one window batch.
        check = torch.randint(0, shape["vocab_size"], (2, 64), device=device)
        ours = run_program(check, [SITES * layer + RESID_POST])[0].float()
        theirs = layer_output(model, layer, check).reshape(ours.shape).float()
        difference = float(torch.linalg.norm(ours - theirs) / torch.linalg.norm(theirs))

        runs = []
        for batch, length in shape["batches"]:
            tokens = torch.randint(0, shape["vocab_size"], (batch, length), device=device)
            forward = {"program": lambda: run_program(tokens, [hook]),
                       "transformers": lambda: model(input_ids=tokens, use_cache=False)}
            times = {name: [] for name in forward}
            for repetition in range(args.repetitions + 1):
                for name, fn in forward.items():
                    elapsed = seconds(fn, device)
                    if repetition > 0:
                        times[name].append(elapsed)
            best = {name: min(t) for name, t in times.items()}
            count = batch * length
            runs.append({
                "batch": batch, "context_size": length, "tokens": count,
                "program_tokens_per_second": count / best["program"],
                "transformers_tokens_per_second": count / best["transformers"],
                "ratio": best["transformers"] / best["program"],
                "program_seconds": best["program"], "program_median_seconds": statistics.median(times["program"]),
                "transformers_seconds": best["transformers"],
                "transformers_median_seconds": statistics.median(times["transformers"]),
                "program_peak_mib_above_weights": peak_mib_above_now(forward["program"], device),
                "transformers_peak_mib_above_weights": peak_mib_above_now(forward["transformers"], device),
            })

    print(json.dumps({
        "benchmark": "qwen3_program",
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else device,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "dtype": "bfloat16", "shape": args.shape,
        "model": {k: v for k, v in shape.items() if k not in ("batches", "layer")},
        "layers_run": layer + 1, "hook": f"blocks.{layer}.hook_mlp_out",
        "repetitions": args.repetitions,
        "runs": runs,
        "hook_layer_output_relative_difference": difference,
    }, indent=2))


if __name__ == "__main__":
    main()
