package dev.jvllm.cpu;

import dev.jvllm.api.BackendOptions;
import jdk.incubator.vector.FloatVector;

/**
 * What every CPU kernel receives: the worker pool and whether the scalar form is forced.
 *
 * <p>Threads: {@link BackendOptions#threads()}, else {@code -Djvllm.cpu.threads}, else the number
 * of available processors. Scalar form: {@code -Djvllm.cpu.scalar=true} or the option
 * {@code scalar=true}; it runs the plain-Java specification of every op instead of the Vector
 * API kernels.
 */
public record CpuContext(Parallel pool, boolean scalar) {
    public static final String THREADS_PROPERTY = "jvllm.cpu.threads";
    public static final String SCALAR_PROPERTY = "jvllm.cpu.scalar";

    static CpuContext create(BackendOptions o) {
        int threads = o.threads();
        if (threads == 0) {
            threads = Integer.getInteger(THREADS_PROPERTY, Runtime.getRuntime().availableProcessors());
        }
        boolean scalar = Boolean.parseBoolean(o.extra().getOrDefault("scalar",
                System.getProperty(SCALAR_PROPERTY, "false")));
        return new CpuContext(new Parallel(Math.max(1, threads)), scalar);
    }

    public int threads() {
        return pool.threads();
    }

    static String describeMachine() {
        return "cpu: " + Runtime.getRuntime().availableProcessors() + " cores, "
                + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors";
    }
}
