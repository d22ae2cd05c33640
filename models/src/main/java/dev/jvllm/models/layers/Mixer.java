package dev.jvllm.models.layers;

import dev.jvllm.api.Tensor;

/**
 * A layer that mixes information across the tokens of each sequence: attention, a Mamba mixer, a
 * short convolution, linear attention. {@code x [T, H] → out [T, H]} over a flat batch; state and
 * caches come from the {@link ForwardContext} by the layer's prefix.
 */
public interface Mixer {
    void forward(Tensor x, Tensor out, ForwardContext fc, Workspace ws);
}
