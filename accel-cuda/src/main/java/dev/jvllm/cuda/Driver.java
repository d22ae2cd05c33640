package dev.jvllm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Hand-written FFM bindings of the CUDA driver API ({@code libcuda.so.1}), with the versioned
 * symbols the CUDA 13 headers map the plain names to ({@code cuMemAlloc_v2}, ...). Every call
 * checks its {@code CUresult} and throws {@link CudaException} naming the call and the error.
 *
 * <p>Handles (context, stream, event, module, function) are {@link MemorySegment} addresses;
 * device pointers ({@code CUdeviceptr}) are {@code long}. Loading this class needs libcuda: use it
 * only after {@link CudaProbe} said the driver is there.
 */
final class Driver {
    private Driver() {
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIB = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());

    // CUdevice_attribute, CUmemorytype, flags (cuda.h)
    static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    static final int ATTR_CC_MAJOR = 75;
    static final int ATTR_CC_MINOR = 76;
    static final int ATTR_SHARED_PER_MULTIPROCESSOR = 81;
    static final int ATTR_SHARED_RESERVED_PER_BLOCK = 111;
    /** CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: a kernel's dynamic shared memory past 48 KiB. */
    static final int FUNC_MAX_DYNAMIC_SHARED = 8;
    static final int MEMORYTYPE_HOST = 1;
    static final int MEMORYTYPE_DEVICE = 2;
    static final int MEMHOSTALLOC_PORTABLE = 0x01;
    static final int MEMHOSTALLOC_DEVICEMAP = 0x02;
    static final int STREAM_NON_BLOCKING = 0x1;
    static final int EVENT_DISABLE_TIMING = 0x2;
    static final int ERROR_OUT_OF_MEMORY = 2;
    /** CUstreamCaptureMode: other threads may make unsafe calls; only this stream's work is recorded. */
    static final int STREAM_CAPTURE_MODE_RELAXED = 2;
    static final int ERROR_PEER_ACCESS_ALREADY_ENABLED = 704;

    private static final MethodHandle GET_ERROR_NAME = fn("cuGetErrorName", JAVA_INT, ADDRESS);
    private static final MethodHandle GET_ERROR_STRING = fn("cuGetErrorString", JAVA_INT, ADDRESS);
    private static final MethodHandle INIT = fn("cuInit", JAVA_INT);
    private static final MethodHandle DEVICE_GET = fn("cuDeviceGet", ADDRESS, JAVA_INT);
    private static final MethodHandle DEVICE_GET_ATTRIBUTE = fn("cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
    private static final MethodHandle DEVICE_GET_NAME = fn("cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
    private static final MethodHandle DRIVER_GET_VERSION = fn("cuDriverGetVersion", ADDRESS);
    private static final MethodHandle PRIMARY_CTX_RETAIN = fn("cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
    private static final MethodHandle PRIMARY_CTX_RELEASE = fn("cuDevicePrimaryCtxRelease_v2", JAVA_INT);
    private static final MethodHandle CTX_SET_CURRENT = fn("cuCtxSetCurrent", ADDRESS);
    private static final MethodHandle MEM_ALLOC = fn("cuMemAlloc_v2", ADDRESS, JAVA_LONG);
    private static final MethodHandle MEM_FREE = fn("cuMemFree_v2", JAVA_LONG);
    private static final MethodHandle MEM_GET_INFO = fn("cuMemGetInfo_v2", ADDRESS, ADDRESS);
    private static final MethodHandle MEM_HOST_ALLOC = fn("cuMemHostAlloc", ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle MEM_FREE_HOST = fn("cuMemFreeHost", ADDRESS);
    private static final MethodHandle MEM_HOST_GET_DEVICE_POINTER =
            fn("cuMemHostGetDevicePointer_v2", ADDRESS, ADDRESS, JAVA_INT);
    private static final MethodHandle MEMCPY_HTOD_ASYNC = fn("cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
    private static final MethodHandle MEMCPY_DTOH_ASYNC = fn("cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
    private static final MethodHandle MEMCPY_DTOD_ASYNC = fn("cuMemcpyDtoDAsync_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
    private static final MethodHandle MEMCPY_2D_ASYNC = fn("cuMemcpy2DAsync_v2", ADDRESS, ADDRESS);
    private static final MethodHandle MEMSET_D8_ASYNC = fn("cuMemsetD8Async", JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS);
    private static final MethodHandle STREAM_CREATE = fn("cuStreamCreate", ADDRESS, JAVA_INT);
    private static final MethodHandle STREAM_DESTROY = fn("cuStreamDestroy_v2", ADDRESS);
    private static final MethodHandle STREAM_SYNCHRONIZE = fn("cuStreamSynchronize", ADDRESS);
    private static final MethodHandle EVENT_CREATE = fn("cuEventCreate", ADDRESS, JAVA_INT);
    private static final MethodHandle EVENT_RECORD = fn("cuEventRecord", ADDRESS, ADDRESS);
    private static final MethodHandle EVENT_SYNCHRONIZE = fn("cuEventSynchronize", ADDRESS);
    private static final MethodHandle EVENT_ELAPSED_TIME = fn("cuEventElapsedTime_v2", ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle EVENT_DESTROY = fn("cuEventDestroy_v2", ADDRESS);
    private static final MethodHandle STREAM_BEGIN_CAPTURE = fn("cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
    private static final MethodHandle STREAM_END_CAPTURE = fn("cuStreamEndCapture", ADDRESS, ADDRESS);
    private static final MethodHandle GRAPH_INSTANTIATE = fn("cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
    private static final MethodHandle GRAPH_LAUNCH = fn("cuGraphLaunch", ADDRESS, ADDRESS);
    private static final MethodHandle GRAPH_EXEC_DESTROY = fn("cuGraphExecDestroy", ADDRESS);
    private static final MethodHandle GRAPH_DESTROY = fn("cuGraphDestroy", ADDRESS);
    private static final MethodHandle MODULE_LOAD_DATA = fn("cuModuleLoadData", ADDRESS, ADDRESS);
    private static final MethodHandle MODULE_UNLOAD = fn("cuModuleUnload", ADDRESS);
    private static final MethodHandle MODULE_GET_FUNCTION = fn("cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle FUNC_SET_ATTRIBUTE = fn("cuFuncSetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
    private static final MethodHandle LAUNCH_KERNEL = fn("cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle LAUNCH_KERNEL_EX = fn("cuLaunchKernelEx", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    // tensor-parallel groups (CudaGroup)
    private static final MethodHandle DEVICE_GET_COUNT = fn("cuDeviceGetCount", ADDRESS);
    private static final MethodHandle DEVICE_CAN_ACCESS_PEER = fn("cuDeviceCanAccessPeer", ADDRESS, JAVA_INT, JAVA_INT);
    private static final MethodHandle CTX_ENABLE_PEER_ACCESS = fn("cuCtxEnablePeerAccess", ADDRESS, JAVA_INT);
    private static final MethodHandle STREAM_WAIT_EVENT = fn("cuStreamWaitEvent", ADDRESS, ADDRESS, JAVA_INT);
    private static final MethodHandle MEMCPY_PEER_ASYNC = fn("cuMemcpyPeerAsync", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS,
            JAVA_LONG, ADDRESS);

    private static MethodHandle fn(String name, MemoryLayout... args) {
        MemorySegment sym = LIB.find(name).orElseThrow(() -> new CudaException(
                "libcuda.so.1 has no symbol " + name + "; the NVIDIA driver is older than CUDA 13.0"));
        return LINKER.downcallHandle(sym, FunctionDescriptor.of(JAVA_INT, args));
    }

    /** Throws {@link CudaException} unless {@code rc} is CUDA_SUCCESS. */
    static void check(int rc, String call) {
        if (rc != 0) {
            throw new CudaException(call, rc, errorText(rc));
        }
    }

    /** "CUDA_ERROR_OUT_OF_MEMORY (2): out of memory". */
    static String errorText(int rc) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ADDRESS);
            String name = (int) GET_ERROR_NAME.invokeExact(rc, p) == 0 ? cString(p) : "CUDA error";
            String text = (int) GET_ERROR_STRING.invokeExact(rc, p) == 0 ? cString(p) : "";
            return name + " (" + rc + ")" + (text.isEmpty() ? "" : ": " + text);
        } catch (Throwable t) {
            return "CUDA error " + rc;
        }
    }

    private static String cString(MemorySegment pointerCell) {
        return pointerCell.get(ADDRESS, 0).reinterpret(1024).getString(0);
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** A driver call returning its CUresult. */
    @FunctionalInterface
    private interface Call {
        int invoke() throws Throwable;
    }

    /** A driver call that writes its result to {@code out} and returns its CUresult. */
    @FunctionalInterface
    private interface OutCall {
        int invoke(MemorySegment out) throws Throwable;
    }

    private static void call(String name, Call c) {
        int rc;
        try {
            rc = c.invoke();
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check(rc, name);
    }

    /** Runs a call with a fresh out-parameter cell of {@code layout} and returns the cell (valid in {@code arena}). */
    private static MemorySegment out(Arena arena, MemoryLayout layout, String name, OutCall c) {
        MemorySegment cell = arena.allocate(layout);
        call(name, () -> c.invoke(cell));
        return cell;
    }

    private static int outInt(String name, OutCall c) {
        try (Arena arena = Arena.ofConfined()) {
            return out(arena, JAVA_INT, name, c).get(JAVA_INT, 0);
        }
    }

    private static long outLong(String name, OutCall c) {
        try (Arena arena = Arena.ofConfined()) {
            return out(arena, JAVA_LONG, name, c).get(JAVA_LONG, 0);
        }
    }

    private static MemorySegment outAddress(String name, OutCall c) {
        try (Arena arena = Arena.ofConfined()) {
            return out(arena, ADDRESS, name, c).get(ADDRESS, 0);
        }
    }

    // ---- device and context ----

    static void init() {
        call("cuInit", () -> (int) INIT.invokeExact(0));
    }

    static int device(int ordinal) {
        return outInt("cuDeviceGet(" + ordinal + ")", out -> (int) DEVICE_GET.invokeExact(out, ordinal));
    }

    static int attribute(int device, int attribute) {
        return outInt("cuDeviceGetAttribute(" + attribute + ")",
                out -> (int) DEVICE_GET_ATTRIBUTE.invokeExact(out, attribute, device));
    }

    static String deviceName(int device) {
        try (Arena arena = Arena.ofConfined()) {
            return out(arena, MemoryLayout.sequenceLayout(256, JAVA_BYTE), "cuDeviceGetName",
                    out -> (int) DEVICE_GET_NAME.invokeExact(out, 256, device)).getString(0);
        }
    }

    static int driverVersion() {
        return outInt("cuDriverGetVersion", out -> (int) DRIVER_GET_VERSION.invokeExact(out));
    }

    static MemorySegment primaryContextRetain(int device) {
        return outAddress("cuDevicePrimaryCtxRetain", out -> (int) PRIMARY_CTX_RETAIN.invokeExact(out, device));
    }

    static void primaryContextRelease(int device) {
        call("cuDevicePrimaryCtxRelease_v2", () -> (int) PRIMARY_CTX_RELEASE.invokeExact(device));
    }

    static void setCurrent(MemorySegment context) {
        call("cuCtxSetCurrent", () -> (int) CTX_SET_CURRENT.invokeExact(context));
    }

    // ---- memory ----

    /** cuMemAlloc_v2; returns the device pointer, or 0 when the device is out of memory. */
    static long memAllocOrZero(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int rc = (int) MEM_ALLOC.invokeExact(out, bytes);
            if (rc == ERROR_OUT_OF_MEMORY) {
                return 0;
            }
            check(rc, "cuMemAlloc_v2(" + bytes + " bytes)");
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void memFree(long pointer) {
        call("cuMemFree_v2", () -> (int) MEM_FREE.invokeExact(pointer));
    }

    /** {free, total} bytes of the current context's device. */
    static long[] memInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(JAVA_LONG);
            MemorySegment total = arena.allocate(JAVA_LONG);
            call("cuMemGetInfo_v2", () -> (int) MEM_GET_INFO.invokeExact(free, total));
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        }
    }

    /** Page-locked host memory of {@code bytes} (cuMemHostAlloc), as a segment of that size. */
    static MemorySegment hostAlloc(long bytes, int flags) {
        return outAddress("cuMemHostAlloc(" + bytes + " bytes)", out -> (int) MEM_HOST_ALLOC.invokeExact(out, bytes, flags))
                .reinterpret(bytes);
    }

    static void hostFree(MemorySegment p) {
        call("cuMemFreeHost", () -> (int) MEM_FREE_HOST.invokeExact(p));
    }

    /** The device address of host memory allocated with {@link #MEMHOSTALLOC_DEVICEMAP}. */
    static long hostDevicePointer(MemorySegment p) {
        return outLong("cuMemHostGetDevicePointer_v2", out -> (int) MEM_HOST_GET_DEVICE_POINTER.invokeExact(out, p, 0));
    }

    static void copyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        call("cuMemcpyHtoDAsync_v2", () -> (int) MEMCPY_HTOD_ASYNC.invokeExact(dst, src, bytes, stream));
    }

    static void copyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        call("cuMemcpyDtoHAsync_v2", () -> (int) MEMCPY_DTOH_ASYNC.invokeExact(dst, src, bytes, stream));
    }

    static void copyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        call("cuMemcpyDtoDAsync_v2", () -> (int) MEMCPY_DTOD_ASYNC.invokeExact(dst, src, bytes, stream));
    }

    /** cuMemcpy2DAsync_v2 with a filled {@link NativeLayouts#MEMCPY2D} struct. */
    static void copy2DAsync(MemorySegment params, MemorySegment stream) {
        call("cuMemcpy2DAsync_v2", () -> (int) MEMCPY_2D_ASYNC.invokeExact(params, stream));
    }

    static void memsetAsync(long dst, byte value, long bytes, MemorySegment stream) {
        call("cuMemsetD8Async", () -> (int) MEMSET_D8_ASYNC.invokeExact(dst, value, bytes, stream));
    }

    // ---- streams and events ----

    static MemorySegment streamCreate(int flags) {
        return outAddress("cuStreamCreate", out -> (int) STREAM_CREATE.invokeExact(out, flags));
    }

    static void streamDestroy(MemorySegment stream) {
        call("cuStreamDestroy_v2", () -> (int) STREAM_DESTROY.invokeExact(stream));
    }

    static void streamSynchronize(MemorySegment stream) {
        call("cuStreamSynchronize", () -> (int) STREAM_SYNCHRONIZE.invokeExact(stream));
    }

    static MemorySegment eventCreate(int flags) {
        return outAddress("cuEventCreate", out -> (int) EVENT_CREATE.invokeExact(out, flags));
    }

    static void eventRecord(MemorySegment event, MemorySegment stream) {
        call("cuEventRecord", () -> (int) EVENT_RECORD.invokeExact(event, stream));
    }

    static void eventSynchronize(MemorySegment event) {
        call("cuEventSynchronize", () -> (int) EVENT_SYNCHRONIZE.invokeExact(event));
    }

    /** Milliseconds between two recorded, completed timing events. */
    static float eventElapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena arena = Arena.ofConfined()) {
            return out(arena, JAVA_FLOAT, "cuEventElapsedTime_v2",
                    out -> (int) EVENT_ELAPSED_TIME.invokeExact(out, start, end)).get(JAVA_FLOAT, 0);
        }
    }

    static void eventDestroy(MemorySegment event) {
        call("cuEventDestroy_v2", () -> (int) EVENT_DESTROY.invokeExact(event));
    }

    // ---- graphs (stream capture) ----

    /** cuStreamBeginCapture_v2: from now on, work enqueued on {@code stream} is recorded, not run. */
    static void streamBeginCapture(MemorySegment stream, int mode) {
        call("cuStreamBeginCapture_v2", () -> (int) STREAM_BEGIN_CAPTURE.invokeExact(stream, mode));
    }

    /**
     * cuStreamEndCapture: ends the capture and returns the recorded graph (a CUgraph). Fails with
     * CUDA_ERROR_STREAM_CAPTURE_INVALIDATED when a call during the capture broke it; the stream is out
     * of capture mode either way.
     */
    static MemorySegment streamEndCapture(MemorySegment stream) {
        return outAddress("cuStreamEndCapture", out -> (int) STREAM_END_CAPTURE.invokeExact(stream, out));
    }

    /** cuGraphInstantiateWithFlags (what cuGraphInstantiate maps to since CUDA 12): an executable graph. */
    static MemorySegment graphInstantiate(MemorySegment graph) {
        return outAddress("cuGraphInstantiateWithFlags", out -> (int) GRAPH_INSTANTIATE.invokeExact(out, graph, 0L));
    }

    /** cuGraphLaunch: enqueues one run of an executable graph on {@code stream}, after its earlier work. */
    static void graphLaunch(MemorySegment exec, MemorySegment stream) {
        call("cuGraphLaunch", () -> (int) GRAPH_LAUNCH.invokeExact(exec, stream));
    }

    static void graphExecDestroy(MemorySegment exec) {
        call("cuGraphExecDestroy", () -> (int) GRAPH_EXEC_DESTROY.invokeExact(exec));
    }

    static void graphDestroy(MemorySegment graph) {
        call("cuGraphDestroy", () -> (int) GRAPH_DESTROY.invokeExact(graph));
    }

    // ---- tensor-parallel groups: device count, peer access, cross-stream and cross-device ordering ----

    static int deviceCount() {
        return outInt("cuDeviceGetCount", out -> (int) DEVICE_GET_COUNT.invokeExact(out));
    }

    /** Whether {@code device} can address {@code peer}'s memory directly (NVLink or PCIe P2P). */
    static boolean canAccessPeer(int device, int peer) {
        return outInt("cuDeviceCanAccessPeer", out -> (int) DEVICE_CAN_ACCESS_PEER.invokeExact(out, device, peer)) != 0;
    }

    /** Lets the current context address {@code peerContext}'s memory; enabling it twice is not an error. */
    static void enablePeerAccess(MemorySegment peerContext) {
        int rc;
        try {
            rc = (int) CTX_ENABLE_PEER_ACCESS.invokeExact(peerContext, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc != ERROR_PEER_ACCESS_ALREADY_ENABLED) {
            check(rc, "cuCtxEnablePeerAccess");
        }
    }

    /** Work queued on {@code stream} after this waits for the event's last record (of any context). */
    static void streamWaitEvent(MemorySegment stream, MemorySegment event) {
        call("cuStreamWaitEvent", () -> (int) STREAM_WAIT_EVENT.invokeExact(stream, event, 0));
    }

    /** Copies between the memory of two contexts on {@code stream} (the driver stages it through the host without peer access). */
    static void copyPeerAsync(long dst, MemorySegment dstContext, long src, MemorySegment srcContext, long bytes,
            MemorySegment stream) {
        call("cuMemcpyPeerAsync", () -> (int) MEMCPY_PEER_ASYNC.invokeExact(dst, dstContext, src, srcContext, bytes, stream));
    }

    // ---- modules and launches ----

    static MemorySegment moduleLoadData(MemorySegment image) {
        return outAddress("cuModuleLoadData", out -> (int) MODULE_LOAD_DATA.invokeExact(out, image));
    }

    static void moduleUnload(MemorySegment module) {
        call("cuModuleUnload", () -> (int) MODULE_UNLOAD.invokeExact(module));
    }

    /** The kernel {@code name} of the module, or NULL when the module has none by that name. */
    static MemorySegment moduleFunctionOrNull(MemorySegment module, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = (int) MODULE_GET_FUNCTION.invokeExact(out, module, arena.allocateFrom(name));
            if (rc == 500) { // CUDA_ERROR_NOT_FOUND
                return MemorySegment.NULL;
            }
            check(rc, "cuModuleGetFunction(" + name + ")");
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** cuFuncSetAttribute: one of the kernel {@code name}'s attributes. */
    static void functionAttribute(MemorySegment function, String name, int attribute, int value) {
        call("cuFuncSetAttribute(" + name + ", " + attribute + ", " + value + ")",
                () -> (int) FUNC_SET_ATTRIBUTE.invokeExact(function, attribute, value));
    }

    /** cuLaunchKernelEx with a filled {@link NativeLayouts#LAUNCH_CONFIG}; {@code describe} names the launch in errors. */
    static void launchEx(MemorySegment config, MemorySegment function, MemorySegment params,
            java.util.function.Supplier<String> describe) {
        int rc;
        try {
            rc = (int) LAUNCH_KERNEL_EX.invokeExact(config, function, params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc != 0) {
            throw new CudaException("cuLaunchKernelEx(" + describe.get() + ")", rc, errorText(rc));
        }
    }

    static void launch(MemorySegment function, String name, int gx, int gy, int gz, int bx, int by, int bz,
            int sharedBytes, MemorySegment stream, MemorySegment params) {
        int rc;
        try {
            rc = (int) LAUNCH_KERNEL.invokeExact(function, gx, gy, gz, bx, by, bz, sharedBytes, stream, params,
                    MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc != 0) {
            throw new CudaException("cuLaunchKernel(" + name + ", grid " + gx + "x" + gy + "x" + gz + ", block " + bx
                    + "x" + by + "x" + bz + ", " + sharedBytes + " B shared)", rc, errorText(rc));
        }
    }
}
