package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Rotary position embedding applied in place to q and k.
 *
 * <p>For token t at position p = positions[t], each head's first {@code rotaryDim} channels are
 * rotated with {@code cos = cosSin[p, i]}, {@code sin = cosSin[p, rotaryDim/2 + i]},
 * i &lt; rotaryDim/2; channels past rotaryDim are left alone (partial rotary). Neox layout pairs
 * channel i with i + rotaryDim/2; GPT-J layout pairs 2i with 2i+1. The pair (a, b) becomes
 * (a·cos − b·sin, b·cos + a·sin), computed in f32 and rounded once to q's/k's dtype.
 *
 * <p>positions: I32 [T]; q: [T, Hq·headSize]; k: [T, Hk·headSize] or null; cosSin: F32
 * [maxPositions, rotaryDim], built in Java by the model for its scaling type.
 */
public record Rotary(Tensor positions, Tensor q, Tensor k, Tensor cosSin, int headSize, int rotaryDim,
        boolean neox) implements OpArgs {
    public Rotary {
        Check.rank("rotary", "positions", Check.nonNull("rotary", "positions", positions), 1);
        Check.dtype("rotary", "positions", positions, DType.I32);
        Check.rank("rotary", "q", Check.nonNull("rotary", "q", q), 2);
        Check.positive("rotary", "headSize", headSize);
        Check.that(rotaryDim > 0 && rotaryDim <= headSize && rotaryDim % 2 == 0, "rotary",
                "rotaryDim must be even and in (0, headSize=" + headSize + "], got " + rotaryDim);
        Check.that(q.dim(0) == positions.dim(0) && q.cols() % headSize == 0, "rotary",
                "q " + q.describe() + " must be [T=" + positions.dim(0) + ", heads*" + headSize + "]");
        Check.that(k == null || (k.rank() == 2 && k.dim(0) == positions.dim(0) && k.cols() % headSize == 0),
                "rotary", "k " + (k == null ? "" : k.describe()) + " must be [T, heads*" + headSize + "]");
        Check.rank("rotary", "cosSin", Check.nonNull("rotary", "cosSin", cosSin), 2);
        Check.dtype("rotary", "cosSin", cosSin, DType.F32);
        Check.that(cosSin.cols() == rotaryDim, "rotary", "cosSin " + cosSin.describe()
                + " must have rotaryDim=" + rotaryDim + " columns");
    }

    @Override
    public OpKind kind() {
        return OpKind.ROTARY;
    }

    @Override
    public List<Tensor> outputs() {
        return k == null ? List.of(q) : List.of(q, k);
    }
}
