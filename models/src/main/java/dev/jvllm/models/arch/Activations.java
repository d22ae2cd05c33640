package dev.jvllm.models.arch;

import dev.jvllm.api.ops.ActivationKind;

/** config.json activation names ({@code hidden_act}, {@code activation_function}) → the op's functions. */
final class Activations {
    private Activations() {
    }

    static ActivationKind of(String name, String source) {
        return switch (name) {
            case "silu", "swish" -> ActivationKind.SILU;
            case "relu" -> ActivationKind.RELU;
            case "gelu" -> ActivationKind.GELU_ERF;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> ActivationKind.GELU_TANH;
            default -> throw new IllegalArgumentException("activation \"" + name + "\" in " + source
                    + " is not supported; supported: silu, relu, gelu, gelu_new, gelu_pytorch_tanh");
        };
    }
}
