package dev.jvllm.api.ops;

/** Every op of the catalog, so harnesses can iterate generically. Families follow DESIGN.md §3. */
public enum OpKind {
    // data
    COPY(Family.DATA), CAST(Family.DATA), GATHER_ROWS(Family.DATA), FILL(Family.DATA),
    // elementwise
    BINARY(Family.ELEMENTWISE), SCALE(Family.ELEMENTWISE), ACTIVATION(Family.ELEMENTWISE),
    GATED_ACTIVATION(Family.ELEMENTWISE),
    // embedding / linear
    EMBEDDING(Family.EMBEDDING), LINEAR(Family.LINEAR),
    // norms
    RMS_NORM(Family.NORM), LAYER_NORM(Family.NORM), GATED_RMS_NORM(Family.NORM),
    // rotary / attention
    ROTARY(Family.ROTARY), KV_CACHE_WRITE(Family.ATTENTION), PAGED_ATTENTION(Family.ATTENTION),
    // mamba-1
    CAUSAL_CONV1D(Family.MAMBA), CAUSAL_CONV1D_UPDATE(Family.MAMBA), SELECTIVE_SCAN(Family.MAMBA),
    SELECTIVE_STATE_UPDATE(Family.MAMBA),
    // mamba-2
    SSD_CHUNK_SCAN(Family.MAMBA2), SSD_STATE_UPDATE(Family.MAMBA2),
    // lfm2, minimax
    SHORT_CONV(Family.SHORT_CONV), LINEAR_ATTENTION(Family.LINEAR_ATTENTION),
    // moe
    MOE_ROUTING(Family.MOE), MOE_EXPERTS(Family.MOE),
    // sampling
    ARGMAX(Family.SAMPLING), SAMPLE(Family.SAMPLING), PENALTIES(Family.SAMPLING), TOP_LOGPROBS(Family.SAMPLING),
    // collectives (through dev.jvllm.api.Communicator, not OpArgs)
    ALL_REDUCE(Family.COLLECTIVE), ALL_GATHER(Family.COLLECTIVE), BROADCAST(Family.COLLECTIVE);

    /** Op families, as in the catalog. */
    public enum Family {
        DATA, ELEMENTWISE, EMBEDDING, LINEAR, NORM, ROTARY, ATTENTION, MAMBA, MAMBA2, SHORT_CONV,
        LINEAR_ATTENTION, MOE, SAMPLING, COLLECTIVE
    }

    private final Family family;

    OpKind(Family family) {
        this.family = family;
    }

    public Family family() {
        return family;
    }

    /** Lower-case name used by CLI filters and reports ("paged_attention"). */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
