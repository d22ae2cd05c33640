package dev.jvllm.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernels of this build: one fatbin per {@code .cu} file, compiled by {@code
 * src/main/cuda/build-fatbin.sh} (sm_80 and sm_90a machine code, compute_90 PTX), shipped as the
 * resources listed in {@value #INDEX} and each loaded as a module with {@code cuModuleLoadData}.
 * Functions are looked up by name in every module on first use (names are unique across files) and
 * cached.
 */
final class KernelModule implements AutoCloseable {
    /** The resource listing the fatbins (one file name per line), next to this class. */
    static final String INDEX = "kernels/kernels.index";

    private final Arena arena;
    private final List<MemorySegment> modules;
    private final Map<String, MemorySegment> functions = new HashMap<>();
    /** The dynamic shared memory a kernel may launch with before its attribute is raised. */
    static final int DEFAULT_DYNAMIC_SHARED = 48 << 10;
    /** Per kernel, the dynamic shared memory its attribute allows past {@link #DEFAULT_DYNAMIC_SHARED}. */
    private final Map<String, Integer> sharedAllowed = new HashMap<>();

    private KernelModule(Arena arena, List<MemorySegment> modules) {
        this.arena = arena;
        this.modules = modules;
    }

    /** Whether this build ships kernels (false when it was built without nvcc). */
    static boolean shipped() {
        return KernelModule.class.getResource(INDEX) != null;
    }

    /** Loads every fatbin into the current context. */
    static KernelModule load() {
        List<String> names = new ArrayList<>();
        for (String line : new String(resource(INDEX), StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                names.add(line.strip());
            }
        }
        // the images stay allocated as long as the modules are loaded
        Arena arena = Arena.ofShared();
        List<MemorySegment> modules = new ArrayList<>();
        try {
            for (String name : names) {
                byte[] image = resource("kernels/" + name);
                modules.add(Driver.moduleLoadData(arena.allocateFrom(ValueLayout.JAVA_BYTE, image)));
            }
            return new KernelModule(arena, modules);
        } catch (RuntimeException e) {
            modules.forEach(Driver::moduleUnload);
            arena.close();
            throw e;
        }
    }

    private static byte[] resource(String path) {
        try (InputStream in = KernelModule.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new CudaException("this build has no CUDA kernels (resource dev/jvllm/cuda/" + path
                        + " missing: nvcc was not found when accel-cuda was built)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CUDA kernels' " + path, e);
        }
    }

    /** The kernel {@code name}; fails naming it when no fatbin of this build has such a kernel. */
    MemorySegment function(String name) {
        MemorySegment f = functions.get(name);
        if (f == null) {
            for (MemorySegment m : modules) {
                f = Driver.moduleFunctionOrNull(m, name);
                if (!f.equals(MemorySegment.NULL)) {
                    break;
                }
            }
            if (f == null || f.equals(MemorySegment.NULL)) {
                throw new CudaException("the CUDA kernels of this build have no kernel " + name
                        + " (is it declared extern \"C\" __global__ in accel-cuda/src/main/cuda? rebuild accel-cuda)");
            }
            functions.put(name, f);
        }
        return f;
    }

    /** Lets the kernel {@code name} launch with {@code bytes} of dynamic shared memory (set once per size). */
    void allowShared(String name, MemorySegment function, int bytes) {
        if (bytes > sharedAllowed.getOrDefault(name, DEFAULT_DYNAMIC_SHARED)) {
            Driver.functionAttribute(function, name, Driver.FUNC_MAX_DYNAMIC_SHARED, bytes);
            sharedAllowed.put(name, bytes);
        }
    }

    @Override
    public void close() {
        modules.forEach(Driver::moduleUnload);
        arena.close();
    }
}
