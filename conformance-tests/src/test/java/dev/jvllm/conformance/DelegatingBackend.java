package dev.jvllm.conformance;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Communicator;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.*;
import java.lang.foreign.MemorySegment;

/**
 * A backend that forwards every method to another one. Tests subclass it and override one op to
 * build deliberately broken (or host-implemented) backends; {@link Backend#run} dispatches to the
 * overridden method because it is a default method of this object.
 */
class DelegatingBackend implements Backend {
    final Backend delegate;

    DelegatingBackend(Backend delegate) {
        this.delegate = delegate;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public String description() {
        return getClass().getSimpleName() + " over " + delegate.description();
    }

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        return delegate.allocate(dtype, shape);
    }

    @Override
    public void write(Tensor dst, MemorySegment src) {
        delegate.write(dst, src);
    }

    @Override
    public void read(Tensor src, MemorySegment dst) {
        delegate.read(src, dst);
    }

    @Override
    public Tensor wrap(MemorySegment host, DType dtype, int... shape) {
        return delegate.wrap(host, dtype, shape);
    }

    @Override
    public void synchronize() {
        delegate.synchronize();
    }

    @Override
    public Communicator communicator() {
        return delegate.communicator();
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public boolean supports(OpArgs args) {
        return delegate.supports(args);
    }

    @Override
    public void copy(Copy a) {
        delegate.copy(a);
    }

    @Override
    public void cast(Cast a) {
        delegate.cast(a);
    }

    @Override
    public void gatherRows(GatherRows a) {
        delegate.gatherRows(a);
    }

    @Override
    public void fill(Fill a) {
        delegate.fill(a);
    }

    @Override
    public void binary(Binary a) {
        delegate.binary(a);
    }

    @Override
    public void scale(Scale a) {
        delegate.scale(a);
    }

    @Override
    public void activation(Activation a) {
        delegate.activation(a);
    }

    @Override
    public void gatedActivation(GatedActivation a) {
        delegate.gatedActivation(a);
    }

    @Override
    public void embedding(Embedding a) {
        delegate.embedding(a);
    }

    @Override
    public void linear(Linear a) {
        delegate.linear(a);
    }

    @Override
    public void rmsNorm(RmsNorm a) {
        delegate.rmsNorm(a);
    }

    @Override
    public void layerNorm(LayerNorm a) {
        delegate.layerNorm(a);
    }

    @Override
    public void gatedRmsNorm(GatedRmsNorm a) {
        delegate.gatedRmsNorm(a);
    }

    @Override
    public void rotary(Rotary a) {
        delegate.rotary(a);
    }

    @Override
    public void kvCacheWrite(KvCacheWrite a) {
        delegate.kvCacheWrite(a);
    }

    @Override
    public void pagedAttention(PagedAttention a) {
        delegate.pagedAttention(a);
    }

    @Override
    public void causalConv1d(CausalConv1d a) {
        delegate.causalConv1d(a);
    }

    @Override
    public void causalConv1dUpdate(CausalConv1dUpdate a) {
        delegate.causalConv1dUpdate(a);
    }

    @Override
    public void selectiveScan(SelectiveScan a) {
        delegate.selectiveScan(a);
    }

    @Override
    public void selectiveStateUpdate(SelectiveStateUpdate a) {
        delegate.selectiveStateUpdate(a);
    }

    @Override
    public void ssdChunkScan(SsdChunkScan a) {
        delegate.ssdChunkScan(a);
    }

    @Override
    public void ssdStateUpdate(SsdStateUpdate a) {
        delegate.ssdStateUpdate(a);
    }

    @Override
    public void shortConv(ShortConv a) {
        delegate.shortConv(a);
    }

    @Override
    public void linearAttention(LinearAttention a) {
        delegate.linearAttention(a);
    }

    @Override
    public void moeRouting(MoeRouting a) {
        delegate.moeRouting(a);
    }

    @Override
    public void moeExperts(MoeExperts a) {
        delegate.moeExperts(a);
    }

    @Override
    public void argmax(Argmax a) {
        delegate.argmax(a);
    }

    @Override
    public void sample(Sample a) {
        delegate.sample(a);
    }

    @Override
    public void penalties(Penalties a) {
        delegate.penalties(a);
    }

    @Override
    public void topLogprobs(TopLogprobs a) {
        delegate.topLogprobs(a);
    }
}
