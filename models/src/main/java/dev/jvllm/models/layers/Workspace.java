package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.ArrayList;
import java.util.List;

/** The activations of one forward pass: allocated on demand, all freed together at the end. */
public final class Workspace implements AutoCloseable {
    private final Backend backend;
    private final List<Tensor> tensors = new ArrayList<>();

    public Workspace(Backend backend) {
        this.backend = backend;
    }

    /** A new zero-filled tensor freed with the workspace. */
    public Tensor allocate(DType dtype, int... shape) {
        Tensor t = backend.allocate(dtype, shape);
        tensors.add(t);
        return t;
    }

    @Override
    public void close() {
        for (Tensor t : tensors) {
            t.close();
        }
        tensors.clear();
    }
}
