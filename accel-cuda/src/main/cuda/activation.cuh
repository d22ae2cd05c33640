// The activation functions of ActivationKind, shared by elementwise.cu and linear.cu's gated GEMV
// epilogue. Transcendentals are evaluated in f64 and rounded to f32 (the CPU reference's scalar form).
#pragma once
#include "common.cuh"

namespace act {

// ActivationKind ordinals (ElementwiseKernels passes fn.ordinal()).
enum Fn { SILU = 0, GELU_ERF = 1, GELU_TANH = 2, RELU = 3, SIGMOID = 4, SOFTPLUS = 5, TANH_SOFTCAP = 6 };

__device__ __forceinline__ float activate(int fn, float xf, float param) {
    double x = xf;
    switch (fn) {
        case SILU: return (float) (x / (1.0 + exp(-x)));
        case GELU_ERF: return (float) (0.5 * x * erfc(-x * 0.70710678118654752440));
        case GELU_TANH: return (float) (0.5 * x * (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x))));
        case RELU: return fmaxf(xf, 0.0f);
        case SIGMOID: return (float) (1.0 / (1.0 + exp(-x)));
        case SOFTPLUS: return x > 20.0 ? xf : (float) log1p(exp(x));
        default: return (float) (param * tanh(x / param));
    }
}

}  // namespace act
