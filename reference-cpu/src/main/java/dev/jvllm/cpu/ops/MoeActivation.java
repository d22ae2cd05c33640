package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.ActivationKind;

/**
 * The expert MLP activations of {@link MoeExpertsKernel}, evaluated in f64 and rounded once to
 * f32 (so they are correctly rounded up to f64's own error). Both forms call these, element by
 * element: the activation is O(I) per routed token against O(I·H) for the matvecs.
 */
final class MoeActivation {
    private static final double SQRT_HALF = Math.sqrt(0.5);
    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

    private MoeActivation() {
    }

    /** Whether {@link #apply} handles this kind (the gated MLP activations). */
    static boolean supported(ActivationKind kind) {
        return kind == ActivationKind.SILU || kind == ActivationKind.GELU_ERF || kind == ActivationKind.GELU_TANH;
    }

    static float apply(ActivationKind kind, float xf) {
        double x = xf;
        return (float) switch (kind) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU_ERF -> 0.5 * x * (1 + erf(x * SQRT_HALF));
            case GELU_TANH -> 0.5 * x * (1 + StrictMath.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
            default -> throw new IllegalArgumentException("moe_experts: activation " + kind
                    + " is not an expert MLP activation; use SILU, GELU_ERF or GELU_TANH");
        };
    }

    /**
     * erf in f64 from the everywhere-convergent series with positive terms (no cancellation):
     * {@code erf(x) = 2/√π · e^{−x²} · Σ_n 2^n x^{2n+1} / (1·3·…·(2n+1))}; |erf(x)| rounds to 1 in
     * f64 beyond |x| = 6.
     */
    static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double ax = Math.abs(x);
        if (ax >= 6) {
            return Math.copySign(1.0, x);
        }
        double x2 = 2 * ax * ax;
        double term = ax, sum = ax;
        for (int n = 1; n < 400 && term > 1e-17 * sum; n++) {
            term *= x2 / (2 * n + 1);
            sum += term;
        }
        double r = TWO_OVER_SQRT_PI * Math.exp(-ax * ax) * sum;
        return Math.copySign(Math.min(1.0, r), x);
    }
}
