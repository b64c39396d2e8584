package dev.saeforge.lm;

import dev.saeforge.store.Safetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A deliberately plain Qwen3 forward pass in float64 loops, written from the transformers code
 * (modeling_qwen3.py) and TransformerLens hook semantics, sharing nothing with the DJL forward
 * but the safetensors reader. One window at a time; every hook of every layer is recorded.
 */
public final class ReferenceQwen3 {
    private final Qwen3Config c;
    private final Map<String, float[]> w = new HashMap<>();

    public ReferenceQwen3(Path dir) throws IOException {
        this.c = Qwen3Config.read(dir);
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.toString().endsWith(".safetensors")).toList();
        }
        for (Path file : files) {
            try (Safetensors.Reader reader = Safetensors.read(file)) {
                for (String name : reader.tensors().keySet()) {
                    w.put(name, reader.floats(name));
                }
            }
        }
    }

    /** Hook name to activation [T][width], plus "logits" [T][vocab]. */
    public Map<String, double[][]> run(long[] tokens) {
        return run(tokens, null, null);
    }

    /** As {@link #run(long[])}, with {@code replace} applied to the activation at hook {@code at}. */
    public Map<String, double[][]> run(long[] tokens, String at, UnaryOperator<double[][]> replace) {
        return run(tokens, at, replace, c.numLayers());
    }

    /** The hooks of the first {@code layers} layers only; "logits" only when that is every layer. */
    public Map<String, double[][]> run(long[] tokens, int layers) {
        return run(tokens, null, null, layers);
    }

    private Map<String, double[][]> run(long[] tokens, String at, UnaryOperator<double[][]> replace, int layers) {
        Map<String, double[][]> out = new LinkedHashMap<>();
        int T = tokens.length;
        int H = c.hiddenSize();
        float[] embed = w.get("model.embed_tokens.weight");
        double[][] h = new double[T][H];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < H; i++) {
                h[t][i] = embed[(int) tokens[t] * H + i];
            }
        }
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            String hook = "blocks." + l + ".";
            h = tap(out, hook + "hook_resid_pre", h, at, replace);
            double[][] a = rmsNorm(h, w.get(p + "input_layernorm.weight"));
            double[][] attn = tap(out, hook + "hook_attn_out", attention(a, p), at, replace);
            h = tap(out, hook + "hook_resid_mid", add(h, attn), at, replace);
            double[][] m = rmsNorm(h, w.get(p + "post_attention_layernorm.weight"));
            double[][] gate = linear(m, w.get(p + "mlp.gate_proj.weight"), c.intermediateSize());
            double[][] up = linear(m, w.get(p + "mlp.up_proj.weight"), c.intermediateSize());
            double[][] post = new double[T][c.intermediateSize()];
            for (int t = 0; t < T; t++) {
                for (int j = 0; j < c.intermediateSize(); j++) {
                    double g = gate[t][j];
                    post[t][j] = g / (1 + Math.exp(-g)) * up[t][j];
                }
            }
            post = tap(out, hook + "mlp.hook_post", post, at, replace);
            double[][] mlpOut = tap(out, hook + "hook_mlp_out", linear(post, w.get(p + "mlp.down_proj.weight"), H), at, replace);
            h = tap(out, hook + "hook_resid_post", add(h, mlpOut), at, replace);
        }
        if (layers < c.numLayers()) {
            return out;
        }
        double[][] normed = rmsNorm(h, w.get("model.norm.weight"));
        float[] head = c.tieWordEmbeddings() ? embed : w.get("lm_head.weight");
        out.put("logits", linear(normed, head, c.vocabSize()));
        return out;
    }

    private static double[][] tap(Map<String, double[][]> out, String name, double[][] x, String at,
                                  UnaryOperator<double[][]> replace) {
        double[][] value = name.equals(at) ? replace.apply(x) : x;
        out.put(name, value);
        return value;
    }

    private double[][] attention(double[][] x, String p) {
        int T = x.length;
        int hd = c.headDim();
        int nh = c.numHeads();
        int nkv = c.numKvHeads();
        double[][] q = linear(x, w.get(p + "self_attn.q_proj.weight"), nh * hd);
        double[][] k = linear(x, w.get(p + "self_attn.k_proj.weight"), nkv * hd);
        double[][] v = linear(x, w.get(p + "self_attn.v_proj.weight"), nkv * hd);
        float[] qNorm = w.get(p + "self_attn.q_norm.weight");
        float[] kNorm = w.get(p + "self_attn.k_norm.weight");
        double[][][] qh = new double[nh][T][];
        double[][][] kh = new double[nkv][T][];
        for (int t = 0; t < T; t++) {
            for (int head = 0; head < nh; head++) {
                qh[head][t] = rope(rmsNorm(slice(q[t], head * hd, hd), qNorm), t);
            }
            for (int head = 0; head < nkv; head++) {
                kh[head][t] = rope(rmsNorm(slice(k[t], head * hd, hd), kNorm), t);
            }
        }
        double[][] context = new double[T][nh * hd];
        int group = nh / nkv;
        for (int head = 0; head < nh; head++) {
            int kvHead = head / group;
            for (int t = 0; t < T; t++) {
                double[] scores = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int d = 0; d < hd; d++) {
                        dot += qh[head][t][d] * kh[kvHead][s][d];
                    }
                    scores[s] = dot / Math.sqrt(hd);
                    max = Math.max(max, scores[s]);
                }
                double sum = 0;
                for (int s = 0; s <= t; s++) {
                    scores[s] = Math.exp(scores[s] - max);
                    sum += scores[s];
                }
                for (int s = 0; s <= t; s++) {
                    double prob = scores[s] / sum;
                    for (int d = 0; d < hd; d++) {
                        context[t][head * hd + d] += prob * v[s][kvHead * hd + d];
                    }
                }
            }
        }
        return linear(context, w.get(p + "self_attn.o_proj.weight"), c.hiddenSize());
    }

    /** Rotate-half RoPE at position t: pairs (j, j + hd/2) turn by t * theta^(-2j/hd). */
    private double[] rope(double[] x, int t) {
        int half = x.length / 2;
        double[] out = new double[x.length];
        for (int j = 0; j < half; j++) {
            double angle = t * Math.pow(c.ropeTheta(), -2.0 * j / x.length);
            double cos = Math.cos(angle);
            double sin = Math.sin(angle);
            out[j] = x[j] * cos - x[j + half] * sin;
            out[j + half] = x[j + half] * cos + x[j] * sin;
        }
        return out;
    }

    private double[][] rmsNorm(double[][] x, float[] weight) {
        double[][] out = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            out[t] = rmsNorm(x[t], weight);
        }
        return out;
    }

    private double[] rmsNorm(double[] x, float[] weight) {
        double sumSquares = 0;
        for (double v : x) {
            sumSquares += v * v;
        }
        double scale = 1 / Math.sqrt(sumSquares / x.length + c.rmsNormEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = weight[i] * x[i] * scale;
        }
        return out;
    }

    /** x [T][in] times W^T, W stored [out][in] as PyTorch does. */
    private static double[][] linear(double[][] x, float[] weight, int outFeatures) {
        int in = x[0].length;
        double[][] out = new double[x.length][outFeatures];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < outFeatures; o++) {
                double sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += x[t][i] * weight[o * in + i];
                }
                out[t][o] = sum;
            }
        }
        return out;
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] out = new double[a.length][a[0].length];
        for (int t = 0; t < a.length; t++) {
            for (int i = 0; i < a[0].length; i++) {
                out[t][i] = a[t][i] + b[t][i];
            }
        }
        return out;
    }

    private static double[] slice(double[] x, int from, int length) {
        double[] out = new double[length];
        System.arraycopy(x, from, out, 0, length);
        return out;
    }
}
