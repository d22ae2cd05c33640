package dev.jvllm.cuda;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.jvllm.api.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/**
 * Builds one kernel launch: grid, block, shared memory and the arguments in declaration order,
 * then {@link #launch()} enqueues it on the stream. Arguments live in one reusable native buffer
 * ({@code cuLaunchKernel} copies them at the call), so a launch allocates nothing.
 *
 * <pre>{@code
 * gpu.kernel("norm_rms").grid(rows).block(256)
 *         .view(x).view(w).i32(hidden).f32(eps)
 *         .launch();
 * }</pre>
 *
 * A tensor argument is a {@link NativeLayouts#VIEW} struct (common.cuh's {@code View}): element pointer, row
 * stride in elements, dtype code.
 */
final class Launch {
    static final int MAX_ARGS = 32;
    private static final long SLOT = NativeLayouts.VIEW.byteSize();
    private static final long VIEW_STRIDE = NativeLayouts.VIEW.byteOffset(MemoryLayout.PathElement.groupElement("stride"));
    private static final long VIEW_DT = NativeLayouts.VIEW.byteOffset(MemoryLayout.PathElement.groupElement("dt"));

    private final Gpu gpu;
    private final MemorySegment values;
    private final MemorySegment params;
    private String name;
    private MemorySegment function;
    private int count;
    private int gx, gy, gz, bx, by, bz, shared;
    private boolean dependent;
    private final MemorySegment config;    // CUlaunchConfig of a dependent launch
    private final KernelSkips skips = new KernelSkips(System.getProperty("jvllm.cuda.skipKernels", ""));

    Launch(Gpu gpu) {
        this.gpu = gpu;
        if (!skips.isEmpty()) {
            System.err.println("jvllm cuda: -Djvllm.cuda.skipKernels is set: captured graphs leave kernels out"
                    + " (for timing only; their outputs are wrong)");
        }
        Arena arena = Arena.ofAuto();
        this.values = arena.allocate(SLOT * MAX_ARGS, 16);
        this.params = arena.allocate(ADDRESS.byteSize() * MAX_ARGS, 8);
        this.config = arena.allocate(NativeLayouts.LAUNCH_CONFIG);
        MemorySegment attribute = arena.allocate(NativeLayouts.LAUNCH_ATTRIBUTE);
        attribute.set(JAVA_INT, NativeLayouts.LAUNCH_ATTRIBUTE.byteOffset(groupElement("id")),
                NativeLayouts.LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
        attribute.set(JAVA_INT, NativeLayouts.LAUNCH_ATTRIBUTE.byteOffset(groupElement("value")), 1);
        config.set(ADDRESS, NativeLayouts.LAUNCH_CONFIG.byteOffset(groupElement("attrs")), attribute);
        config.set(JAVA_INT, NativeLayouts.LAUNCH_CONFIG.byteOffset(groupElement("numAttrs")), 1);
    }

    Launch begin(String kernel, MemorySegment fn) {
        name = kernel;
        function = fn;
        count = 0;
        gx = gy = gz = bx = by = bz = 1;
        shared = 0;
        dependent = false;
        return this;
    }

    /**
     * Lets this launch begin while the previous kernel in the stream still runs (programmatic
     * dependent launch), when it is recorded into a graph on a device of compute capability 9.0 or
     * later (unless {@code -Djvllm.cuda.pdl=false}). Only for kernels that call common.cuh's
     * {@code pdl_wait()} in every block before they touch what earlier kernels write or read. Eager
     * launches stay plain: there the host's launch calls set the pace, and a replayed decode step is
     * where the gaps between kernels show (docs/performance.md, run 9).
     */
    Launch dependent() {
        dependent = PDL && gpu.computeCapability() >= 90 && gpu.backend().capturing();
        return this;
    }

    /** {@code -Djvllm.cuda.pdl=false}: every launch waits for the previous kernel to end (comparisons). */
    static final boolean PDL = !"false".equals(System.getProperty("jvllm.cuda.pdl"));

    Launch grid(long x) {
        return grid(x, 1, 1);
    }

    Launch grid(long x, long y, long z) {
        if (x < 1 || x > Integer.MAX_VALUE || y < 1 || y > 65535 || z < 1 || z > 65535) {
            throw new IllegalArgumentException(name + ": grid " + x + "x" + y + "x" + z + " is outside the device's limits");
        }
        gx = (int) x;
        gy = (int) y;
        gz = (int) z;
        return this;
    }

    Launch block(int x) {
        bx = x;
        return this;
    }

    /** Dynamic shared memory; past 48 KiB the kernel's attribute is raised first (once per size). */
    Launch sharedBytes(int bytes) {
        if (bytes > KernelModule.DEFAULT_DYNAMIC_SHARED) { // below it no attribute is looked up
            gpu.allowShared(name, function, bytes);
        }
        shared = bytes;
        return this;
    }

    /** The grid of common.cuh's {@code GRID_STRIDE} loop over {@code n} items (at most 32 blocks per SM). */
    Launch elements(long n, int threads) {
        long blocks = Math.max(1, Math.min((n + threads - 1) / threads, 32L * gpu.multiprocessors()));
        return grid(blocks).block(threads);
    }

    /**
     * The grid of common.cuh's {@code ROWS_COLS} loop over a rows x cols tensor: threads along the
     * columns, blocks along rows (each looping over several when there are many), about 64 blocks per SM.
     */
    Launch rowsCols(long rows, int cols) {
        int threads = cols >= 256 ? 256 : Math.max(32, (cols + 31) / 32 * 32);
        long gx = Math.max(1, Math.min((cols + threads - 1) / threads, 64));
        long gy = Math.max(1, Math.min(rows, Math.min(65535, Math.max(1, 64L * gpu.multiprocessors() / gx))));
        return grid(gx, gy, 1).block(threads);
    }

    private MemorySegment slot() {
        if (count == MAX_ARGS) {
            throw new IllegalStateException(name + ": more than " + MAX_ARGS + " kernel arguments");
        }
        MemorySegment s = values.asSlice(count * SLOT, SLOT);
        params.setAtIndex(ADDRESS, count, s);
        count++;
        return s;
    }

    Launch i32(int v) {
        slot().set(JAVA_INT, 0, v);
        return this;
    }

    Launch i64(long v) {
        slot().set(JAVA_LONG, 0, v);
        return this;
    }

    Launch f32(float v) {
        slot().set(JAVA_FLOAT, 0, v);
        return this;
    }

    /** A device pointer argument ({@code T*}). */
    Launch ptr(long devicePointer) {
        slot().set(JAVA_LONG, 0, devicePointer);
        return this;
    }

    /** A tensor's element pointer ({@code T*}): for 1-D index arrays. */
    Launch ptr(Tensor t) {
        return ptr(gpu.tensor(t).address());
    }

    /** A {@code View} of a tensor (its own row stride), or an empty view for null. */
    Launch view(Tensor t) {
        if (t == null) {
            return view(0, 0, 0);
        }
        CudaTensor c = gpu.tensor(t);
        return view(c.address(), c.layout().rowStride(), c.dtype().ordinal());
    }

    /** A {@code View} of a contiguous tensor seen as rows of {@code cols} elements (e.g. a cache as [slots, Hk·D]). */
    Launch view(Tensor t, long cols) {
        CudaTensor c = gpu.tensor(t);
        if (!c.isContiguous()) {
            throw new IllegalArgumentException(name + ": " + t.describe() + " must be contiguous");
        }
        return view(c.address(), cols, c.dtype().ordinal());
    }

    private Launch view(long pointer, long stride, int dtype) {
        MemorySegment s = slot();
        s.fill((byte) 0);
        s.set(JAVA_LONG, 0, pointer);
        s.set(JAVA_LONG, VIEW_STRIDE, stride);
        s.set(JAVA_INT, VIEW_DT, dtype);
        return this;
    }

    /** Enqueues the launch on the stream. */
    void launch() {
        if (!skips.isEmpty() && gpu.backend().capturing() && skips.skip(name)) {
            return;
        }
        if (!dependent) {
            Driver.launch(function, name, gx, gy, gz, bx, by, bz, shared, gpu.stream(), params);
            return;
        }
        int[] dims = {gx, gy, gz, bx, by, bz, shared};
        for (int i = 0; i < dims.length; i++) {
            config.setAtIndex(JAVA_INT, i, dims[i]);
        }
        config.set(ADDRESS, NativeLayouts.LAUNCH_CONFIG.byteOffset(groupElement("hStream")), gpu.stream());
        Driver.launchEx(config, function, params, () -> name + " (dependent), grid " + gx + "x" + gy + "x" + gz
                + ", block " + bx + "x" + by + "x" + bz + ", " + shared + " B shared");
    }
}
