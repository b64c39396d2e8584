package dev.saeforge.tensor;

import java.util.Arrays;
import java.util.Locale;

/**
 * The floating-point type a computation runs in, named as PyTorch names it. DJL's NDArray API has
 * no bfloat16, so bfloat16 tensors exist only inside TorchScript programs ({@link TorchScript}).
 */
public enum Precision {
    BFLOAT16(TorchScript.BFLOAT16, 2),
    FLOAT16(TorchScript.FLOAT16, 2),
    FLOAT32(TorchScript.FLOAT32, 4);

    /** The c10::ScalarType number TorchScript programs take. */
    public final long scalarType;
    public final int bytes;

    Precision(long scalarType, int bytes) {
        this.scalarType = scalarType;
        this.bytes = bytes;
    }

    /** "bfloat16", "float16" or "float32". */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses "bfloat16", "float16" or "float32" (also as "torch.bfloat16"); null if it is none of them. */
    public static Precision parse(String name) {
        String bare = name == null ? "" : name.strip().toLowerCase(Locale.ROOT).replaceFirst("^torch\\.", "");
        return Arrays.stream(values()).filter(p -> p.toString().equals(bare)).findFirst().orElse(null);
    }
}
