package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Log-softmax top-n: {@code lp = l − max − log Σ exp(l − max)} (exp in f32, sum in f64) per row;
 * outIds/outLogprobs get the n largest in descending order (ties → lower id). When tokenIds is
 * given, tokenLogprob[b] = lp[b, tokenIds[b]] (the sampled or prompt token's own logprob).
 *
 * <p>logits: F32 [B, V]; outIds: I32 [B, n]; outLogprobs: F32 [B, n]; tokenIds: I32 [B] or null;
 * tokenLogprob: F32 [B] (given iff tokenIds is).
 */
public record TopLogprobs(Tensor logits, int n, Tensor outIds, Tensor outLogprobs, Tensor tokenIds,
        Tensor tokenLogprob) implements OpArgs {
    public TopLogprobs {
        String op = "top_logprobs";
        Check.rank(op, "logits", Check.nonNull(op, "logits", logits), 2);
        Check.dtype(op, "logits", logits, DType.F32);
        int b = logits.dim(0);
        Check.that(n >= 0 && n <= logits.cols(), op, "n must be in [0, V=" + logits.cols() + "], got " + n);
        Check.shape(op, "outIds", Check.nonNull(op, "outIds", outIds), b, n);
        Check.shape(op, "outLogprobs", Check.nonNull(op, "outLogprobs", outLogprobs), b, n);
        Check.dtype(op, "outIds", outIds, DType.I32);
        Check.dtype(op, "outLogprobs", outLogprobs, DType.F32);
        Check.that((tokenIds == null) == (tokenLogprob == null), op, "tokenIds and tokenLogprob go together");
        Check.shape(op, "tokenIds", tokenIds, b);
        Check.shape(op, "tokenLogprob", tokenLogprob, b);
        Check.dtype(op, "tokenIds", tokenIds, DType.I32);
        Check.dtype(op, "tokenLogprob", tokenLogprob, DType.F32);
    }

    @Override
    public OpKind kind() {
        return OpKind.TOP_LOGPROBS;
    }

    @Override
    public List<Tensor> outputs() {
        return tokenLogprob == null ? List.of(outIds, outLogprobs) : List.of(outIds, outLogprobs, tokenLogprob);
    }
}
