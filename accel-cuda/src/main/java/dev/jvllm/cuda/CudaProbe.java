package dev.jvllm.cuda;

import dev.jvllm.api.BackendProvider.Probe;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Asks the CUDA driver, through FFM, whether a usable device exists: library present, cuInit,
 * device count, compute capability, driver version. Creates no context.
 */
final class CudaProbe {
    // CUdevice_attribute values from cuda.h
    private static final int ATTR_CC_MAJOR = 75;
    private static final int ATTR_CC_MINOR = 76;

    private CudaProbe() {
    }

    /**
     * @param kernelsReady whether this build ships kernels; when false a usable device is still
     *     reported unavailable, naming what was found
     */
    static Probe probe(int minCc, int minDriver, boolean kernelsReady) {
        try {
            return probeOrThrow(minCc, minDriver, kernelsReady);
        } catch (Throwable t) {
            return Probe.unavailable("probing CUDA failed: " + t);
        }
    }

    private static Probe probeOrThrow(int minCc, int minDriver, boolean kernelsReady) throws Throwable {
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
        } catch (IllegalArgumentException e) {
            return Probe.unavailable("libcuda.so.1 not found (no NVIDIA driver installed)");
        }
        Linker linker = Linker.nativeLinker();
        MethodHandle cuInit = handle(linker, lib, "cuInit", FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT));
        MethodHandle getCount = handle(linker, lib, "cuDeviceGetCount", FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS));
        MethodHandle driverVersion = handle(linker, lib, "cuDriverGetVersion",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        MethodHandle getAttr = handle(linker, lib, "cuDeviceGetAttribute", FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        MethodHandle getName = handle(linker, lib, "cuDeviceGetName", FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        MethodHandle errorString = handle(linker, lib, "cuGetErrorName", FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) cuInit.invokeExact(0);
            if (rc != 0) {
                return Probe.unavailable("cuInit failed: " + errorName(errorString, rc, arena)
                        + (rc == 100 ? " (no CUDA device)" : ""));
            }
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            check((int) driverVersion.invokeExact(out), "cuDriverGetVersion", errorString, arena);
            int driver = out.get(ValueLayout.JAVA_INT, 0);
            check((int) getCount.invokeExact(out), "cuDeviceGetCount", errorString, arena);
            int count = out.get(ValueLayout.JAVA_INT, 0);
            if (count == 0) {
                return Probe.unavailable("no CUDA device");
            }
            check((int) getAttr.invokeExact(out, ATTR_CC_MAJOR, 0), "cuDeviceGetAttribute", errorString, arena);
            int major = out.get(ValueLayout.JAVA_INT, 0);
            check((int) getAttr.invokeExact(out, ATTR_CC_MINOR, 0), "cuDeviceGetAttribute", errorString, arena);
            int minor = out.get(ValueLayout.JAVA_INT, 0);
            MemorySegment name = arena.allocate(256);
            check((int) getName.invokeExact(name, 256, 0), "cuDeviceGetName", errorString, arena);
            String device = name.getString(0) + " (compute capability " + major + "." + minor + ", driver CUDA "
                    + driver / 1000 + "." + (driver % 1000) / 10 + ", " + count + " device(s))";
            if (major * 10 + minor < minCc) {
                return Probe.unavailable("compute capability " + major + "." + minor + " < "
                        + minCc / 10 + "." + minCc % 10 + ": " + device);
            }
            if (driver < minDriver) {
                return Probe.unavailable("driver supports CUDA " + driver / 1000 + "." + (driver % 1000) / 10
                        + ", the shipped kernels need " + minDriver / 1000 + "." + (minDriver % 1000) / 10
                        + " or newer: " + device);
            }
            if (!kernelsReady) {
                return Probe.unavailable("this build has no CUDA kernels (nvcc was not found when accel-cuda was built); found "
                        + device);
            }
            return Probe.ok(device);
        }
    }

    private static MethodHandle handle(Linker linker, SymbolLookup lib, String name, FunctionDescriptor fd) {
        MemorySegment sym = lib.find(name).orElseThrow(() -> new IllegalStateException(
                "libcuda.so.1 has no symbol " + name + " (driver too old?)"));
        return linker.downcallHandle(sym, fd);
    }

    private static void check(int rc, String call, MethodHandle errorString, Arena arena) throws Throwable {
        if (rc != 0) {
            throw new IllegalStateException(call + " failed: " + errorName(errorString, rc, arena));
        }
    }

    private static String errorName(MethodHandle errorString, int rc, Arena arena) throws Throwable {
        MemorySegment p = arena.allocate(ValueLayout.ADDRESS);
        int r = (int) errorString.invokeExact(rc, p);
        if (r != 0) {
            return "CUDA error " + rc;
        }
        return p.get(ValueLayout.ADDRESS, 0).reinterpret(256).getString(0) + " (" + rc + ")";
    }
}
