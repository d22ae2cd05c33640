package dev.jvllm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * The C structs the bindings fill, as FFM layouts (in a class of their own, so tests can check them
 * without loading libcuda; CudaLayoutsTest compares them with cuda.h and common.cuh).
 */
final class NativeLayouts {
    private NativeLayouts() {
    }

    /** common.cuh {@code struct View { char* p; long long stride; int dt; int pad; }}: a kernel's tensor argument. */
    static final StructLayout VIEW = MemoryLayout.structLayout(ADDRESS.withName("p"), JAVA_LONG.withName("stride"),
            JAVA_INT.withName("dt"), JAVA_INT.withName("pad"));

    /** cuda.h {@code CUDA_MEMCPY2D} (128 bytes). */
    static final StructLayout MEMCPY2D = MemoryLayout.structLayout(
            JAVA_LONG.withName("srcXInBytes"), JAVA_LONG.withName("srcY"),
            JAVA_INT.withName("srcMemoryType"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("srcHost"), JAVA_LONG.withName("srcDevice"), ADDRESS.withName("srcArray"),
            JAVA_LONG.withName("srcPitch"),
            JAVA_LONG.withName("dstXInBytes"), JAVA_LONG.withName("dstY"),
            JAVA_INT.withName("dstMemoryType"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("dstHost"), JAVA_LONG.withName("dstDevice"), ADDRESS.withName("dstArray"),
            JAVA_LONG.withName("dstPitch"),
            JAVA_LONG.withName("WidthInBytes"), JAVA_LONG.withName("Height"));

    /** cuda.h {@code CUlaunchConfig} (56 bytes), for {@code cuLaunchKernelEx}. */
    static final StructLayout LAUNCH_CONFIG = MemoryLayout.structLayout(
            JAVA_INT.withName("gridDimX"), JAVA_INT.withName("gridDimY"), JAVA_INT.withName("gridDimZ"),
            JAVA_INT.withName("blockDimX"), JAVA_INT.withName("blockDimY"), JAVA_INT.withName("blockDimZ"),
            JAVA_INT.withName("sharedMemBytes"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("hStream"), ADDRESS.withName("attrs"), JAVA_INT.withName("numAttrs"),
            MemoryLayout.paddingLayout(4));

    /** cuda.h {@code CUlaunchAttribute} (72 bytes): the id, padding to 8, a 64-byte value union. */
    static final StructLayout LAUNCH_ATTRIBUTE = MemoryLayout.structLayout(
            JAVA_INT.withName("id"), MemoryLayout.paddingLayout(4), JAVA_INT.withName("value"),
            MemoryLayout.paddingLayout(60));

    /** cuda.h {@code CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION}. */
    static final int LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
}
