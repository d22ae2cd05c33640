package dev.jvllm.models.layers;

import dev.jvllm.api.Tensor;

/** A per-token block after the mixer: a gated MLP or a mixture of experts. {@code x [T, H] → out [T, H]}. */
public interface FeedForward {
    void forward(Tensor x, Tensor out, Workspace ws);
}
