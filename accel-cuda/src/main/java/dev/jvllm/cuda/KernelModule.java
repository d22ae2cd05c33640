package dev.jvllm.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * The kernels of this build: the fatbin that {@code src/main/cuda/build-fatbin.sh} compiled from every
 * {@code .cu} file (sm_80 and sm_90a machine code, compute_90 PTX), shipped as the resource
 * {@value #RESOURCE} and loaded with {@code cuModuleLoadData}. Functions are looked up by name
 * on first use and cached.
 */
final class KernelModule implements AutoCloseable {
    /** The fatbin resource, next to this class. */
    static final String RESOURCE = "kernels.fatbin";

    private final Arena arena;
    private final MemorySegment module;
    private final Map<String, MemorySegment> functions = new HashMap<>();

    private KernelModule(Arena arena, MemorySegment module) {
        this.arena = arena;
        this.module = module;
    }

    /** Whether this build ships kernels (false when it was built without nvcc). */
    static boolean shipped() {
        return KernelModule.class.getResource(RESOURCE) != null;
    }

    /** Loads the fatbin into the current context. */
    static KernelModule load() {
        byte[] image;
        try (InputStream in = KernelModule.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new CudaException("this build has no CUDA kernels (resource dev/jvllm/cuda/" + RESOURCE
                        + " missing: nvcc was not found when accel-cuda was built)");
            }
            image = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CUDA kernels " + RESOURCE, e);
        }
        // the image stays allocated as long as the module is loaded
        Arena arena = Arena.ofShared();
        try {
            return new KernelModule(arena, Driver.moduleLoadData(arena.allocateFrom(ValueLayout.JAVA_BYTE, image)));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The kernel {@code name}; fails naming it when this build's fatbin has no such kernel. */
    MemorySegment function(String name) {
        MemorySegment f = functions.get(name);
        if (f == null) {
            f = Driver.moduleFunctionOrNull(module, name);
            if (f.equals(MemorySegment.NULL)) {
                throw new CudaException("the CUDA kernels of this build have no kernel " + name
                        + " (is it declared extern \"C\" __global__ in accel-cuda/src/main/cuda? rebuild accel-cuda)");
            }
            functions.put(name, f);
        }
        return f;
    }

    @Override
    public void close() {
        Driver.moduleUnload(module);
        arena.close();
    }
}
