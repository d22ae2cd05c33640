package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Seeded sampling of one token per row, in vLLM's order: temperature, min-p, top-k, top-p, draw.
 *
 * <p>Per row b (f32 unless stated):
 * <ol>
 *   <li>{@code temperature[b] <= 0}: the {@link Argmax} token; stop.</li>
 *   <li>{@code l = logits[b] / temperature[b]}; {@code p = softmax(l)} (max-subtracted, sum in f64).</li>
 *   <li>min-p ({@code minP[b] > 0}): keep v with {@code p_v >= minP[b] · max(p)}.</li>
 *   <li>top-k ({@code 0 < topK[b] < V}): among kept, keep v whose l_v is ≥ the topK-th largest kept l.</li>
 *   <li>top-p ({@code topP[b] < 1}): order kept by p descending (ties: lower index first); keep
 *       the shortest prefix whose p-sum (f64) reaches {@code topP[b] ·} (sum of kept p); at least one.</li>
 *   <li>draw: {@code u = }{@link SamplingRandom#uniform}{@code (seeds[b], offsets[b])}; walking kept
 *       tokens in ascending id, the first whose running p-sum (f64) exceeds {@code u ·} (sum of kept p).</li>
 * </ol>
 * The same (seed, offset) gives the same token on every backend, up to rounding at the boundary.
 *
 * <p>logits: F32 [B, V]; temperature, topP, minP: F32 [B]; topK: I32 [B] (0 = off); seeds,
 * offsets: I64 [B]; out: I32 [B].
 */
public record Sample(Tensor logits, Tensor temperature, Tensor topK, Tensor topP, Tensor minP, Tensor seeds,
        Tensor offsets, Tensor out) implements OpArgs {
    public Sample {
        String op = "sample";
        Check.rank(op, "logits", Check.nonNull(op, "logits", logits), 2);
        Check.dtype(op, "logits", logits, DType.F32);
        int b = logits.dim(0);
        Check.shape(op, "temperature", Check.nonNull(op, "temperature", temperature), b);
        Check.shape(op, "topK", Check.nonNull(op, "topK", topK), b);
        Check.shape(op, "topP", Check.nonNull(op, "topP", topP), b);
        Check.shape(op, "minP", Check.nonNull(op, "minP", minP), b);
        Check.shape(op, "seeds", Check.nonNull(op, "seeds", seeds), b);
        Check.shape(op, "offsets", Check.nonNull(op, "offsets", offsets), b);
        Check.shape(op, "out", Check.nonNull(op, "out", out), b);
        Check.dtype(op, "temperature", temperature, DType.F32);
        Check.dtype(op, "topK", topK, DType.I32);
        Check.dtype(op, "topP", topP, DType.F32);
        Check.dtype(op, "minP", minP, DType.F32);
        Check.dtype(op, "seeds", seeds, DType.I64);
        Check.dtype(op, "offsets", offsets, DType.I64);
        Check.dtype(op, "out", out, DType.I32);
    }

    @Override
    public OpKind kind() {
        return OpKind.SAMPLE;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
