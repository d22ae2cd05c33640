package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Gens;
import java.util.Locale;
import java.util.SplittableRandom;
import org.quicktheories.core.Gen;

/** Logits for the sampling specs (argmax, sample, penalties, top-logprobs): sizes and value patterns. */
final class SamplingLogits {
    private SamplingLogits() {
    }

    /** How a row's values are drawn. */
    enum Pattern {
        /** uniform in [−8, 8) */
        RANDOM,
        /** integers in [−3, 3]: many exact ties */
        TIES,
        /** uniform in [−2, 2) plus one token at +12: a confident model */
        PEAKED,
        /** uniform in [−8, 8) with ~30% of tokens at −∞ (masked), never all of a row */
        MASKED,
        /** RANDOM with NaN, +∞ and −∞ dropped in (argmax only: the other ops' results are undefined there) */
        NAN_INF;

        String label() {
            return name().toLowerCase(Locale.ROOT).replace("_", "-");
        }
    }

    /** Vocabulary sizes: vector widths ±1, primes, 768/769, 4096 ± 1 (one case of a real vocab is pinned). */
    static Gen<Integer> vocab() {
        return Gens.size(1, 5000, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 127, 128, 129, 257, 768, 769, 4095,
                4096, 4097);
    }

    /** Batch rows: 1 (decode of one sequence), small primes, vector widths ±1. */
    static Gen<Integer> rows() {
        return Gens.size(1, 17, 1, 2, 3, 7, 8, 9, 16, 17);
    }

    /** Row-major [rows, vocab] values of the pattern, drawn from the case's random source. */
    static float[] values(CaseBuilder b, Pattern p, int rows, int vocab) {
        SplittableRandom r = b.random();
        float[] v = new float[rows * vocab];
        for (int row = 0; row < rows; row++) {
            int base = row * vocab;
            for (int i = 0; i < vocab; i++) {
                v[base + i] = switch (p) {
                    case RANDOM, MASKED, NAN_INF -> (float) (-8 + 16 * r.nextDouble());
                    case TIES -> r.nextInt(-3, 4);
                    case PEAKED -> (float) (-2 + 4 * r.nextDouble());
                };
            }
            switch (p) {
                case PEAKED -> v[base + r.nextInt(vocab)] = 12f;
                case MASKED -> {
                    int keep = r.nextInt(vocab);
                    for (int i = 0; i < vocab; i++) {
                        if (i != keep && r.nextInt(10) < 3) {
                            v[base + i] = Float.NEGATIVE_INFINITY;
                        }
                    }
                }
                case NAN_INF -> {
                    float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
                    int count = 1 + r.nextInt(3);
                    for (int k = 0; k < count; k++) {
                        v[base + r.nextInt(vocab)] = specials[r.nextInt(specials.length)];
                    }
                }
                default -> { }
            }
        }
        return v;
    }

    /**
     * Logits as a strided view inside a canary-guarded buffer (built with {@link CaseBuilder#output}, so
     * a kernel that writes beside the view is caught), holding the pattern's values rounded to dtype.
     */
    static Tensor logits(CaseBuilder b, DType dtype, Pattern p, int rows, int vocab) {
        Tensor t = b.output(dtype, rows, vocab);
        Tensors.writeFloats(t, values(b, p, rows, vocab));
        return t;
    }

    static String dtype(DType d) {
        return d.name().toLowerCase(Locale.ROOT);
    }
}
