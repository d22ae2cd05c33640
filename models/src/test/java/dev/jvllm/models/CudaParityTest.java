package dev.jvllm.models;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every fixture on the CUDA backend, held to the CPU's rules ({@link ModelParity}): f32 activations
 * meet the f32 parity rule (1e-4 of the logit scale, the quant-* formats their own tolerance from
 * {@link ModelParity#f32Tolerance}; greedy equal), bf16 weights and activations meet vLLM's
 * top-5 rule (the f32 side from the CPU reference), on the fixtures {@link ModelParity#bf16Fixtures} names.
 *
 * <p>Without a usable GPU every test is skipped with the provider's reason. A fixture whose ops (or
 * weight formats) the backend does not run yet is skipped too, with the op the backend refused in
 * the message — never passed.
 */
class CudaParityTest {
    private static Backend cuda;
    private static Backend cpu;

    @BeforeAll
    static void open() {
        BackendProvider p = Backends.byName("cuda");
        BackendProvider.Probe probe = p.probe();
        Assumptions.assumeTrue(probe.available(), () -> "no usable GPU: " + probe.reason());
        cuda = p.create(BackendOptions.defaults());
        cpu = CpuBackend.create();
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.jvllm.models.ModelParity#fixtures")
    void f32MeetsTheCpuParityRule(String name) throws Throwable {
        skipWhereUnsupported(name, () -> ModelParity.assertLogitsAndGreedy(name, cuda, ModelParity.f32Tolerance(name)));
    }

    @ParameterizedTest
    @MethodSource("dev.jvllm.models.ModelParity#bf16Fixtures")
    void bf16MeetsTheTopFiveRule(String name) throws Throwable {
        skipWhereUnsupported(name, () -> ModelParity.assertBf16TopFive(name, cpu, cuda));
    }

    /** Runs the check; an op the backend refuses (UnsupportedOperationException anywhere in the causes) skips it. */
    private static void skipWhereUnsupported(String name, Executable check) throws Throwable {
        try {
            check.execute();
        } catch (Throwable t) {
            for (Throwable c = t; c != null; c = c.getCause()) {
                if (c instanceof UnsupportedOperationException u) {
                    Assumptions.abort("cuda cannot run " + name + " yet: " + u.getMessage());
                }
            }
            throw t;
        }
    }
}
