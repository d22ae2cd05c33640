package dev.jvllm.conformance.cpu;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.conformance.BackendConformanceTest;
import dev.jvllm.cpu.CpuBackend;

/**
 * The whole suite on the CPU backend: its Vector API form (candidate) against its scalar form
 * (reference), exactly as {@code ./jvllm conformance --backend cpu} runs it, and written the way a
 * third-party backend's test is (in another package, through the public API only).
 *
 * <p>10 generated cases per op keep it quick; {@code -Djvllm.conformance.examples=200} digs deeper.
 * An op without a spec fails, as it does in the CLI.
 */
class CpuConformanceTest extends BackendConformanceTest {
    @Override
    protected Backend candidate() {
        return CpuBackend.create();
    }

    @Override
    protected Backend reference() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    }

    @Override
    protected int examples() {
        return Integer.getInteger("jvllm.conformance.examples", 10);
    }
}
