package dev.jvllm.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.TensorLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Locale;

/**
 * One device as the kernels see it: the primary context (made current on every thread that calls
 * CUDA), one stream for all work, the kernel module, the caching allocator, pinned staging, the
 * device error word, the launch builder and, when the library is there, a cuBLAS handle.
 *
 * <p>What a {@link KernelFamily} uses: {@link #kernel} to launch, {@link #tensor} to reach a
 * tensor's device address, {@link #temp} for scratch tensors, {@link #errorWord} and
 * {@link DeviceErrors#code} for bad-input reports, {@link #cublas} and {@link #copy2D} /
 * {@link #copy}. Everything is enqueued on {@link #stream()}; nothing here waits except
 * {@link #synchronize}.
 */
final class Gpu implements AutoCloseable {
    private static final VarHandle SRC_MEMORY_TYPE = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("srcMemoryType"));
    private static final VarHandle SRC_HOST = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("srcHost"));
    private static final VarHandle SRC_DEVICE = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("srcDevice"));
    private static final VarHandle SRC_PITCH = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("srcPitch"));
    private static final VarHandle DST_MEMORY_TYPE = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("dstMemoryType"));
    private static final VarHandle DST_HOST = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("dstHost"));
    private static final VarHandle DST_DEVICE = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("dstDevice"));
    private static final VarHandle DST_PITCH = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("dstPitch"));
    private static final VarHandle WIDTH = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("WidthInBytes"));
    private static final VarHandle HEIGHT = NativeLayouts.MEMCPY2D.varHandle(MemoryLayout.PathElement.groupElement("Height"));

    private final CudaBackend backend;
    private final int ordinal;
    private final int device;
    private final MemorySegment context;
    /** The Gpu whose context the calling thread made current last (ranks of a group may share a thread). */
    private static final ThreadLocal<Gpu> CURRENT_ON_THREAD = new ThreadLocal<>();
    private final MemorySegment stream;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment memcpy2D;
    private final MemorySegment one;
    private final MemorySegment zero;
    private final DeviceAllocator allocator = new DeviceAllocator();
    private final KernelModule module;
    private final Launch launch;
    private final Staging staging;
    private final DeviceErrors errors;
    private final long ticket;
    private final String name;
    private final int computeCapability;
    private final int multiprocessors;
    private final int sharedPerMultiprocessor, sharedReservedPerBlock;
    private final int driverVersion;
    /**
     * cuBLAS's workspace: the size of its default pool on Hopper and later (cuBLAS docs, "cuBLAS
     * workspace"), set explicitly so that no GEMM allocates while a graph is captured.
     */
    static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;

    private MemorySegment cublas;
    private DeviceAllocator.Block cublasWorkspace;
    private String cublasProblem;

    Gpu(CudaBackend backend, int ordinal) {
        this.backend = backend;
        this.ordinal = ordinal;
        Driver.init();
        this.device = Driver.device(ordinal);
        this.context = Driver.primaryContextRetain(device);
        makeCurrent();
        this.name = Driver.deviceName(device);
        this.computeCapability = Driver.attribute(device, Driver.ATTR_CC_MAJOR) * 10
                + Driver.attribute(device, Driver.ATTR_CC_MINOR);
        this.multiprocessors = Driver.attribute(device, Driver.ATTR_MULTIPROCESSOR_COUNT);
        this.sharedPerMultiprocessor = Driver.attribute(device, Driver.ATTR_SHARED_PER_MULTIPROCESSOR);
        this.sharedReservedPerBlock = Driver.attribute(device, Driver.ATTR_SHARED_RESERVED_PER_BLOCK);
        this.driverVersion = Driver.driverVersion();
        this.stream = Driver.streamCreate(Driver.STREAM_NON_BLOCKING);
        this.memcpy2D = arena.allocate(NativeLayouts.MEMCPY2D);
        this.one = arena.allocateFrom(JAVA_FLOAT, 1f);
        this.zero = arena.allocateFrom(JAVA_FLOAT, 0f);
        this.module = KernelModule.load();
        this.launch = new Launch(this);
        this.staging = new Staging(this);
        this.errors = new DeviceErrors(stream);
        this.ticket = Driver.memAllocOrZero(16);
        if (ticket == 0) {
            throw new CudaException("out of device memory for the 16-byte ticket word");
        }
        Driver.memsetAsync(ticket, (byte) 0, 16, stream);
    }

    /**
     * Makes this device's primary context current on the calling thread (a no-op when a platform thread
     * already has it). A virtual thread sets it every time: the context is current on the carrier it
     * ran on before, and it may run on another now (the thread-local mark would follow the virtual
     * thread, not the carrier). Each op starts with this call and parks nowhere before its driver calls
     * (one thread uses a backend at a time), so the context is there when they run.
     */
    void makeCurrent() {
        if (Thread.currentThread().isVirtual()) {
            Driver.setCurrent(context);
            return;
        }
        if (CURRENT_ON_THREAD.get() != this) {
            Driver.setCurrent(context);
            CURRENT_ON_THREAD.set(this);
        }
    }

    /** This device's primary context (shared by every Gpu of the device). */
    MemorySegment context() {
        return context;
    }

    /** The device's CUdevice handle. */
    int device() {
        return device;
    }

    CudaBackend backend() {
        return backend;
    }

    MemorySegment stream() {
        return stream;
    }

    DeviceAllocator allocator() {
        return allocator;
    }

    Staging staging() {
        return staging;
    }

    /**
     * The device word on which a kernel's blocks count themselves to elect the last one (0 between
     * launches; the last block sets it back): linear.cu {@code stage_rms}, argmax.cu
     * {@code argmax_split}. Each touches it only after its {@code pdl_wait()}, so two launches on this
     * stream never use it at once, and one word serves them all.
     */
    long ticket() {
        return ticket;
    }

    /** The device address of the error word kernels report bad input to. */
    long errorWord() {
        return errors.devicePointer();
    }

    /** Compute capability as major * 10 + minor (90 for an H100). */
    int computeCapability() {
        return computeCapability;
    }

    int multiprocessors() {
        return multiprocessors;
    }

    /**
     * How many blocks of a kernel with {@code sharedBytes} of shared memory (dynamic + static) one SM
     * can hold by shared memory alone (the driver reserves a little per block).
     */
    int blocksBySharedMemory(int sharedBytes) {
        return sharedPerMultiprocessor / (sharedBytes + sharedReservedPerBlock);
    }

    /** Lets the kernel {@code kernelName} use {@code bytes} of dynamic shared memory past 48 KiB. */
    void allowShared(String kernelName, MemorySegment function, int bytes) {
        module.allowShared(kernelName, function, bytes);
    }

    /** The launch builder for the named kernel of the module (one launch at a time). */
    Launch kernel(String kernelName) {
        makeCurrent();
        return launch.begin(kernelName, module.function(kernelName));
    }

    /** A tensor of this backend, checked. */
    CudaTensor tensor(Tensor t) {
        return CudaTensor.of(t, backend);
    }

    /** An uninitialized contiguous scratch tensor; close it when done (stream order keeps that safe). */
    CudaTensor temp(DType dtype, int... shape) {
        makeCurrent();
        return new CudaTensor(backend, allocator.allocate(TensorLayout.contiguous(dtype, shape).numel() * dtype.byteSize()),
                TensorLayout.contiguous(dtype, shape), true);
    }

    /** Host f32 constants for cuBLAS's alpha/beta. */
    MemorySegment one() {
        return one;
    }

    MemorySegment zero() {
        return zero;
    }

    /** The cuBLAS handle (created on first use), or null when cuBLAS is unavailable ({@link #cublasProblem()}). */
    MemorySegment cublas() {
        if (cublas == null && cublasProblem == null) {
            makeCurrent();
            try {
                if (!Cublas.available()) {
                    cublasProblem = Cublas.unavailableReason();
                } else {
                    cublas = Cublas.create(stream);
                    cublasWorkspace = allocator.allocate(CUBLAS_WORKSPACE_BYTES);
                    Cublas.setWorkspace(cublas, cublasWorkspace.pointer, cublasWorkspace.size);
                }
            } catch (RuntimeException | LinkageError e) {
                cublasProblem = "cuBLAS could not be initialised: " + e;
            }
        }
        return cublas;
    }

    /** Why {@link #cublas()} is null, or null when it is not. */
    String cublasProblem() {
        cublas();
        return cublasProblem;
    }

    /**
     * A 2D copy of {@code height} rows of {@code widthBytes}: from device address {@code srcDevice}
     * (when {@code srcHost} is null) or host memory, to device {@code dstDevice} (when {@code dstHost}
     * is null) or host memory, each side with its pitch in bytes.
     */
    void copy2D(long srcDevice, MemorySegment srcHost, long srcPitch, long dstDevice, MemorySegment dstHost, long dstPitch,
            long widthBytes, long height) {
        makeCurrent();
        MemorySegment p = memcpy2D;
        p.fill((byte) 0);
        SRC_MEMORY_TYPE.set(p, 0L, srcHost == null ? Driver.MEMORYTYPE_DEVICE : Driver.MEMORYTYPE_HOST);
        SRC_HOST.set(p, 0L, srcHost == null ? MemorySegment.NULL : srcHost);
        SRC_DEVICE.set(p, 0L, srcHost == null ? srcDevice : 0L);
        SRC_PITCH.set(p, 0L, srcPitch);
        DST_MEMORY_TYPE.set(p, 0L, dstHost == null ? Driver.MEMORYTYPE_DEVICE : Driver.MEMORYTYPE_HOST);
        DST_HOST.set(p, 0L, dstHost == null ? MemorySegment.NULL : dstHost);
        DST_DEVICE.set(p, 0L, dstHost == null ? dstDevice : 0L);
        DST_PITCH.set(p, 0L, dstPitch);
        WIDTH.set(p, 0L, widthBytes);
        HEIGHT.set(p, 0L, height);
        Driver.copy2DAsync(p, stream);
    }

    /** dst = src between two device tensors of one dtype and shape (one DtoD copy, or 2D for strided views). */
    void copy(CudaTensor src, CudaTensor dst) {
        int es = src.dtype().byteSize();
        long rowBytes = (long) src.cols() * es;
        if (src.numel() == 0) {
            return;
        }
        makeCurrent();
        if (src.isContiguous() && dst.isContiguous()) {
            Driver.copyDtoDAsync(dst.address(), src.address(), src.numel() * es, stream);
        } else {
            copy2D(src.address(), null, src.layout().rowStride() * es, dst.address(), null, dst.layout().rowStride() * es,
                    rowBytes, src.rows());
        }
    }

    /** Waits for every queued operation, then raises the first bad-input error a kernel reported. */
    void synchronize() {
        makeCurrent();
        errors.fetch(stream);
        Driver.streamSynchronize(stream);
        errors.raiseIfAny(stream, backend::describeDeviceError);
    }

    /**
     * {@link #synchronize} and a copy of the device tensor at {@code base} into {@code dst} in one round
     * trip: the error word's copy is queued ahead of the data, so the download's wait covers both (a
     * decode step reads its tokens every step).
     */
    void synchronizeAndDownload(long base, TensorLayout layout, MemorySegment dst) {
        if (layout.numel() == 0) {
            synchronize();
            return;
        }
        makeCurrent();
        errors.fetch(stream);
        staging.download(base, layout, dst);
        errors.raiseIfAny(stream, backend::describeDeviceError);
    }

    /** The most bytes {@link #downloadLater} takes (its pinned slots' size). */
    static final long LATER_MAX_BYTES = 64 << 10;

    /**
     * A pinned buffer mapped into the device ({@code mapped}: its device address) and the event that
     * says its copy arrived: one read in flight. The buffer holds the data, then (at {@link
     * #LATER_MAX_BYTES}) the slot's copy of the error word.
     */
    private record LaterSlot(MemorySegment buffer, long mapped, MemorySegment arrived) {
        MemorySegment errorCopy() {
            return buffer.asSlice(LATER_MAX_BYTES, DeviceErrors.bytes());
        }
    }

    private final java.util.ArrayDeque<LaterSlot> laterSlots = new java.util.ArrayDeque<>();
    private final java.util.List<LaterSlot> allLaterSlots = new java.util.ArrayList<>();

    /**
     * Enqueues the copy of {@code bytes} (1 to {@link #LATER_MAX_BYTES}) contiguous device bytes at
     * {@code base} and of the error word into a pinned slot (data.cu {@code data_copy_out}), and
     * returns without waiting;
     * {@link dev.jvllm.api.PendingRead#await} waits for that copy alone (ops enqueued later do not
     * delay it), then raises any reported error as {@link #synchronize} would.
     */
    dev.jvllm.api.PendingRead downloadLater(long base, long bytes) {
        if (bytes < 1 || bytes > LATER_MAX_BYTES) {
            throw new IllegalArgumentException("downloadLater takes 1 to " + LATER_MAX_BYTES + " bytes, got " + bytes);
        }
        makeCurrent();
        LaterSlot slot = laterSlots.pollFirst();
        if (slot == null) {
            MemorySegment buffer = Driver.hostAlloc(LATER_MAX_BYTES + DeviceErrors.bytes(),
                    Driver.MEMHOSTALLOC_PORTABLE | Driver.MEMHOSTALLOC_DEVICEMAP);
            slot = new LaterSlot(buffer, Driver.hostDevicePointer(buffer), Driver.eventCreate(Driver.EVENT_DISABLE_TIMING));
            allLaterSlots.add(slot);
        }
        // one kernel's stores into the mapped slot: two copy-engine transfers (the error word's and the
        // data's) held the stream ~8 µs longer between two async decode steps (docs/performance.md run 18)
        long fetchedAt = errors.generation();
        kernel("data_copy_out").grid(1).block(256).ptr(base).i64(bytes).ptr(errors.devicePointer())
                .ptr(slot.mapped).i64(LATER_MAX_BYTES).launch();
        Driver.eventRecord(slot.arrived, stream);
        LaterSlot s = slot;
        return new dev.jvllm.api.PendingRead() {
            private boolean open = true;

            @Override
            public void await(MemorySegment dst) {
                if (!open) {
                    throw new IllegalStateException("this read was already awaited or closed");
                }
                makeCurrent();
                Driver.eventSynchronize(s.arrived);
                MemorySegment.copy(s.buffer, 0, dst, 0, bytes);
                try {
                    errors.raiseIfAny(s.errorCopy(), fetchedAt, stream, backend::describeDeviceError);
                } finally {
                    giveBack();
                }
            }

            @Override
            public void close() {
                if (open) {
                    makeCurrent();
                    Driver.eventSynchronize(s.arrived); // the slot is reused only after its copy landed
                    giveBack();
                }
            }

            private void giveBack() {
                open = false;
                laterSlots.addFirst(s);
            }
        };
    }

    String description() {
        long[] info = memInfoOrNull();
        String blas = cublasProblem() == null ? "cuBLAS " + Cublas.location() : "no cuBLAS (" + cublasProblem + ")";
        return String.format(Locale.ROOT, "cuda: %s (device %d, compute capability %d.%d, %d SMs%s), driver CUDA %d.%d, %s",
                name, ordinal, computeCapability / 10, computeCapability % 10, multiprocessors,
                info == null ? "" : String.format(Locale.ROOT, ", %.1f GiB", info[1] / 1073741824.0),
                driverVersion / 1000, driverVersion % 1000 / 10, blas);
    }

    /** Total device memory in bytes, or −1 when the driver cannot say. */
    long totalMemory() {
        long[] info = memInfoOrNull();
        return info == null ? -1 : info[1];
    }

    private long[] memInfoOrNull() {
        try {
            makeCurrent();
            return Driver.memInfo();
        } catch (RuntimeException e) {
            return null;
        }
    }

    @Override
    public void close() {
        makeCurrent();
        try {
            Driver.streamSynchronize(stream);
        } finally {
            if (cublas != null) {
                Cublas.destroy(cublas);
            }
            staging.close();
            for (LaterSlot slot : allLaterSlots) {
                Driver.eventDestroy(slot.arrived);
                Driver.hostFree(slot.buffer);
            }
            errors.close();
            Driver.memFree(ticket);
            allocator.close();
            module.close();
            Driver.streamDestroy(stream);
            arena.close();
            Driver.primaryContextRelease(device);
            CURRENT_ON_THREAD.remove();
        }
    }
}
