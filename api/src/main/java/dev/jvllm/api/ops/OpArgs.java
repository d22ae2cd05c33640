package dev.jvllm.api.ops;

import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * The arguments of one op call: one immutable record per op.
 *
 * <p>The same record goes to {@link dev.jvllm.api.Backend#supports}, to the op method, to the
 * conformance case and to the perf case. Records check ranks, shapes and the relations between
 * arguments when constructed, so a backend sees only well-formed calls; {@code supports} then
 * decides on dtypes and sizes alone.
 */
public sealed interface OpArgs permits Copy, Cast, GatherRows, Fill, Binary, Scale, Activation, GatedActivation,
        Embedding, Linear, RmsNorm, LayerNorm, GatedRmsNorm, Rotary, KvCacheWrite, PagedAttention,
        CausalConv1d, CausalConv1dUpdate, SelectiveScan, SelectiveStateUpdate, SsdChunkScan, SsdStateUpdate,
        ShortConv, LinearAttention, MoeRouting, MoeExperts, Argmax, Sample, Penalties, TopLogprobs {

    /** Which op these arguments are for. */
    OpKind kind();

    /** The tensors the op writes (outputs and in-place state), for harnesses that compare results. */
    List<Tensor> outputs();
}
