package dev.saeforge.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SyntheticSpec;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The toy model of superposition (Elhage et al. 2022): {@code features} ground-truth unit
 * directions in {@code dIn} dimensions; each sample activates each feature independently with
 * probability p, with a magnitude uniform in (0, maxMagnitude], and is the sum of its active
 * features' directions times their magnitudes.
 *
 * <p>Batch k is drawn from its own generator, seeded from (seed, stream, k), so the position in
 * the stream is just k and a resumed run sees exactly the batches it would have seen.
 */
public final class SyntheticSuperposition implements ActivationSource {
    /** The name of its one stream of vectors, where a language model has hooks. */
    public static final String HOOK = "synthetic";
    private static final long TRAINING_STREAM = 0;
    private static final long HELD_OUT_STREAM = 1;
    /** Keeps the directions' random numbers apart from the SAE initialisation's, which use the bare seed. */
    private static final long DIRECTIONS_SALT = 0x5DEECE66DL;

    private final SyntheticSpec spec;
    private final long seed;
    private final long stream;
    private final float[] directions;   // [features, dIn], unit rows
    private long batches;

    public SyntheticSuperposition(SyntheticSpec spec, long seed) {
        this(spec, seed, TRAINING_STREAM, randomDirections(spec.features, spec.dIn, new SplittableRandom(seed ^ DIRECTIONS_SALT)));
    }

    private SyntheticSuperposition(SyntheticSpec spec, long seed, long stream, float[] directions) {
        this.spec = spec;
        this.seed = seed;
        this.stream = stream;
        this.directions = directions;
    }

    private static float[] randomDirections(int features, int dIn, SplittableRandom random) {
        float[] out = new float[features * dIn];
        for (int f = 0; f < features; f++) {
            double norm = 0;
            double[] v = new double[dIn];
            for (int d = 0; d < dIn; d++) {
                v[d] = gaussian(random);
                norm += v[d] * v[d];
            }
            norm = Math.sqrt(norm);
            for (int d = 0; d < dIn; d++) {
                out[f * dIn + d] = (float) (v[d] / norm);
            }
        }
        return out;
    }

    private static double gaussian(SplittableRandom random) {
        // Box-Muller: SplittableRandom has no nextGaussian before Java 17's RandomGenerator default.
        return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    /** The ground-truth directions, [features, dIn] row-major. */
    public float[] directions() {
        return directions.clone();
    }

    public int features() {
        return spec.features;
    }

    /** Width of its vectors. */
    public int dIn() {
        return spec.dIn;
    }

    @Override
    public List<String> hooks() {
        return List.of(HOOK);
    }

    @Override
    public int dIn(String hook) {
        if (!hook.equals(HOOK)) {
            throw new IllegalArgumentException("a synthetic source has one hook, \"" + HOOK + "\", not " + hook);
        }
        return spec.dIn;
    }

    @Override
    public NDList next(NDManager manager, int rows) {
        return new NDList(batch(manager, rows));
    }

    private NDArray batch(NDManager manager, int rows) {
        SplittableRandom random = new SplittableRandom(batchSeed(seed, stream, batches++));
        int dIn = spec.dIn;
        float[] x = new float[rows * dIn];
        for (int r = 0; r < rows; r++) {
            for (int f = 0; f < spec.features; f++) {
                if (random.nextDouble() < spec.firingProbability) {
                    double magnitude = spec.maxMagnitude * (1 - random.nextDouble());   // (0, max]
                    for (int d = 0; d < dIn; d++) {
                        x[r * dIn + d] += (float) (magnitude * directions[f * dIn + d]);
                    }
                }
            }
        }
        return manager.create(x, new Shape(rows, dIn));
    }

    /** Batch k of a stream gets a generator seeded by a hash of (seed, stream, k): unrelated to its neighbours'. */
    private static long batchSeed(long seed, long stream, long batch) {
        long streamSeed = new SplittableRandom(seed ^ DIRECTIONS_SALT * (stream + 2)).nextLong();
        return new SplittableRandom(streamSeed + batch).nextLong();
    }

    @Override
    public Map<String, Object> position() {
        return Map.of("batches", batches);
    }

    @Override
    public void seek(Map<String, Object> position) {
        Object value = position.get("batches");
        if (!(value instanceof Number n)) {
            throw new IllegalArgumentException("synthetic source position needs a \"batches\" count, got " + position);
        }
        batches = n.longValue();
    }

    @Override
    public ActivationSource heldOut() {
        return new SyntheticSuperposition(spec, seed, HELD_OUT_STREAM, directions);
    }

    @Override
    public String describe() {
        return "synthetic superposition (" + spec.features + " features in " + spec.dIn + " dimensions, p "
                + spec.firingProbability + ", seed " + seed + (stream == HELD_OUT_STREAM ? ", held-out stream" : "") + ")";
    }
}
