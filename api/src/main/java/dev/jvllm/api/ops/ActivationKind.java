package dev.jvllm.api.ops;

/** Elementwise activation functions, all evaluated in f32. */
public enum ActivationKind {
    /** x · sigmoid(x). */
    SILU,
    /** x · Φ(x) with the exact erf: 0.5 · x · (1 + erf(x / √2)). */
    GELU_ERF,
    /** The tanh approximation ("gelu_new", "gelu_pytorch_tanh"): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). */
    GELU_TANH,
    /** max(x, 0). */
    RELU,
    /** 1 / (1 + e^-x). */
    SIGMOID,
    /** log(1 + e^x), returning x for x &gt; 20 as torch does. */
    SOFTPLUS,
    /** cap · tanh(x / cap): Gemma-2's attention and final logit soft-capping. */
    TANH_SOFTCAP
}
