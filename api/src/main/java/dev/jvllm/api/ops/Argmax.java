package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code out[b] = argmax_v logits[b, v]}; ties go to the lowest index; NaN counts as larger than
 * every number (as torch.argmax). logits: [B, V] float; out: I32 [B].
 */
public record Argmax(Tensor logits, Tensor out) implements OpArgs {
    public Argmax {
        Check.rank("argmax", "logits", Check.nonNull("argmax", "logits", logits), 2);
        Check.shape("argmax", "out", Check.nonNull("argmax", "out", out), logits.dim(0));
        Check.dtype("argmax", "out", out, DType.I32);
    }

    @Override
    public OpKind kind() {
        return OpKind.ARGMAX;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
