package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * vLLM's penalties, in place on logits, in this order per row b and token v:
 * <ol>
 *   <li>repetition ({@code r = repetition[b] != 1}): if v occurs in the prompt or the output,
 *       {@code l = l > 0 ? l / r : l · r};</li>
 *   <li>frequency: {@code l −= frequency[b] · count_out(v)};</li>
 *   <li>presence: {@code l −= presence[b] · (count_out(v) > 0 ? 1 : 0)},</li>
 * </ol>
 * where count_out counts v among the output tokens. Token lists are padded with −1 (ignored).
 *
 * <p>logits: F32 [B, V]; promptTokens: I32 [B, Lp]; outputTokens: I32 [B, Lo]; repetition,
 * presence, frequency: F32 [B].
 */
public record Penalties(Tensor logits, Tensor promptTokens, Tensor outputTokens, Tensor repetition,
        Tensor presence, Tensor frequency) implements OpArgs {
    public Penalties {
        String op = "penalties";
        Check.rank(op, "logits", Check.nonNull(op, "logits", logits), 2);
        Check.dtype(op, "logits", logits, DType.F32);
        int b = logits.dim(0);
        Check.shape(op, "promptTokens", Check.nonNull(op, "promptTokens", promptTokens), b, -1);
        Check.shape(op, "outputTokens", Check.nonNull(op, "outputTokens", outputTokens), b, -1);
        Check.dtype(op, "promptTokens", promptTokens, DType.I32);
        Check.dtype(op, "outputTokens", outputTokens, DType.I32);
        Check.shape(op, "repetition", Check.nonNull(op, "repetition", repetition), b);
        Check.shape(op, "presence", Check.nonNull(op, "presence", presence), b);
        Check.shape(op, "frequency", Check.nonNull(op, "frequency", frequency), b);
        Check.dtype(op, "repetition", repetition, DType.F32);
        Check.dtype(op, "presence", presence, DType.F32);
        Check.dtype(op, "frequency", frequency, DType.F32);
    }

    @Override
    public OpKind kind() {
        return OpKind.PENALTIES;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(logits);
    }
}
