package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The activations of one forward pass: allocated on demand, freed together at the end, or earlier
 * for the temporaries of a step run through {@link #freeing}.
 */
public final class Workspace implements AutoCloseable {
    private final Backend backend;
    private final List<Tensor> tensors = new ArrayList<>();

    public Workspace(Backend backend) {
        this.backend = backend;
    }

    /** A new zero-filled tensor freed with the workspace (or with the {@link #freeing} step that allocated it). */
    public Tensor allocate(DType dtype, int... shape) {
        Tensor t = backend.allocate(dtype, shape);
        tensors.add(t);
        return t;
    }

    /**
     * A new tensor with unspecified contents ({@link Backend#allocateUninitialized}), freed like
     * {@link #allocate}'s: only for the output of an op that writes all of it.
     */
    public Tensor allocateUninitialized(DType dtype, int... shape) {
        Tensor t = backend.allocateUninitialized(dtype, shape);
        tensors.add(t);
        return t;
    }

    /**
     * Runs {@code step} (one layer, which writes its outputs into tensors allocated before it), then
     * frees the tensors it allocated here, so that the next layer's come from the same memory. Held to
     * the end of the pass instead, a prefill's activations grow with layers × tokens: for
     * Llama-3.2-1B's 16 layers, 14.5 MiB per layer at 128 tokens (qkv, attention output, gate/up and
     * the activated half in f32), 232 MiB in all, and 3.6 GiB for a 2048-token chunk.
     */
    public void freeing(Runnable step) {
        int mark = tensors.size();
        try {
            step.run();
        } finally {
            for (int i = tensors.size() - 1; i >= mark; i--) {
                tensors.remove(i).close();
            }
        }
    }

    @Override
    public void close() {
        for (Tensor t : tensors) {
            t.close();
        }
        tensors.clear();
    }
}
