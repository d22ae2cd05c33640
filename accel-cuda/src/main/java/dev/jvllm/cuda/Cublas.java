package dev.jvllm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.jvllm.api.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Hand-written FFM bindings of cuBLAS ({@code libcublas.so.13}): handle, stream, math mode and
 * {@code cublasGemmEx} / {@code cublasGemmStridedBatchedEx} with f32 compute. Every status other
 * than CUBLAS_STATUS_SUCCESS becomes a {@link CudaException} naming the call and the status string.
 *
 * <p>The library is searched for once (see {@link #search}); when it is not found, {@link #available()}
 * is false and {@link #unavailableReason()} says where it looked, and the backend reports the
 * linear op unsupported rather than failing.
 *
 * <p>Row-major products use the "TN" trick: cuBLAS is column-major, and a row-major [R, C] matrix
 * with row stride s is a column-major C×R matrix with leading dimension s. So
 * {@code out[T, N] = x[T, K] · W[N, K]ᵀ} is the column-major {@code outᵀ (N×T) = op_T(W) (N×K) ·
 * xᵀ (K×T)}: {@code gemm(OP_T, OP_N, m=N, n=T, k=K, A=W lda=strideW, B=x ldb=strideX, C=out ldc=strideOut)}.
 */
final class Cublas {
    private Cublas() {
    }

    // cublasOperation_t, cudaDataType, cublasComputeType_t, cublasMath_t, cublasGemmAlgo_t (cublas_api.h, library_types.h)
    static final int OP_N = 0;
    static final int OP_T = 1;
    static final int R_32F = 0;
    static final int R_16F = 2;
    static final int R_16BF = 14;
    static final int COMPUTE_32F = 68;
    /** CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION: split-K partial sums stay in f32 even for 16-bit outputs. */
    static final int MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16;
    static final int GEMM_DEFAULT = -1;

    private static final String PROPERTY = "jvllm.cuda.cublas";
    private static final Linker LINKER = Linker.nativeLinker();
    private static final List<String> TRIED = new ArrayList<>();
    private static final SymbolLookup LIB = search();

    private static final MethodHandle CREATE = fn("cublasCreate_v2", ADDRESS);
    private static final MethodHandle DESTROY = fn("cublasDestroy_v2", ADDRESS);
    private static final MethodHandle SET_STREAM = fn("cublasSetStream_v2", ADDRESS, ADDRESS);
    private static final MethodHandle SET_WORKSPACE = fn("cublasSetWorkspace_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
    private static final MethodHandle SET_MATH_MODE = fn("cublasSetMathMode", ADDRESS, JAVA_INT);
    private static final MethodHandle GET_STATUS_STRING = LIB == null ? null
            : LINKER.downcallHandle(LIB.find("cublasGetStatusString").orElseThrow(),
                    FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final MethodHandle GEMM_EX = fn("cublasGemmEx", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
            JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle GEMM_STRIDED_BATCHED_EX = fn("cublasGemmStridedBatchedEx", ADDRESS, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT,
            JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT);

    /** Whether cuBLAS was found. */
    static boolean available() {
        return LIB != null;
    }

    /** Why cuBLAS is unavailable (the places searched), or "" when it is available. */
    static String unavailableReason() {
        return LIB != null ? "" : "libcublas.so.13 not found (tried " + String.join(", ", TRIED)
                + "); set -D" + PROPERTY + "=/path/to/libcublas.so.13";
    }

    /** Where the library was loaded from ("" when unavailable). */
    static String location() {
        return LIB == null ? "" : TRIED.getLast();
    }

    /** The cudaDataType of a float dtype. */
    static int dataType(DType t) {
        return switch (t) {
            case F32 -> R_32F;
            case F16 -> R_16F;
            case BF16 -> R_16BF;
            default -> throw new IllegalArgumentException("cuBLAS: no cudaDataType for " + t);
        };
    }

    /**
     * Finds libcublas: the {@value #PROPERTY} property, the dynamic linker's search path, the
     * toolkit ({@code $CUDA_HOME}, /usr/local/cuda), then NVIDIA's Python wheels (nvidia/cu13/lib,
     * nvidia/cublas/lib) under the usual site-packages roots.
     */
    private static SymbolLookup search() {
        List<String> candidates = new ArrayList<>();
        String prop = System.getProperty(PROPERTY);
        if (prop != null && !prop.isBlank()) {
            candidates.add(prop);
        }
        candidates.add("libcublas.so.13");
        for (String home : new String[] {System.getenv("CUDA_HOME"), System.getenv("CUDA_PATH"), "/usr/local/cuda"}) {
            if (home != null && !home.isBlank()) {
                candidates.add(home + "/lib64/libcublas.so.13");
                candidates.add(home + "/targets/x86_64-linux/lib/libcublas.so.13");
            }
        }
        for (String c : candidates) {
            SymbolLookup l = tryLoad(c);
            if (l != null) {
                return l;
            }
        }
        for (Path root : new Path[] {Path.of("/opt"), Path.of("/usr/local/lib"), Path.of("/usr/lib")}) {
            for (Path p : wheelLibraries(root)) {
                SymbolLookup l = tryLoad(p.toString());
                if (l != null) {
                    return l;
                }
            }
        }
        return null;
    }

    private static SymbolLookup tryLoad(String name) {
        TRIED.add(name);
        try {
            return SymbolLookup.libraryLookup(name, Arena.global());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** libcublas.so.13 files of pip's nvidia packages below root (site-packages/nvidia/&#42;/lib). */
    private static List<Path> wheelLibraries(Path root) {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> s = Files.find(root, 8, (p, a) -> p.getFileName().toString().equals("libcublas.so.13")
                && p.toString().contains("/nvidia/"))) {
            return s.sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            return List.of();
        }
    }

    private static MethodHandle fn(String name, MemoryLayout... args) {
        if (LIB == null) {
            return null;
        }
        MemorySegment sym = LIB.find(name).orElseThrow(() -> new CudaException(
                location() + " has no symbol " + name + " (cuBLAS older than 12?)"));
        return LINKER.downcallHandle(sym, FunctionDescriptor.of(JAVA_INT, args));
    }

    private static void check(int status, String call) {
        if (status != 0) {
            String text;
            try {
                text = ((MemorySegment) GET_STATUS_STRING.invokeExact(status)).reinterpret(256).getString(0);
            } catch (Throwable t) {
                text = "cuBLAS status " + status;
            }
            throw new CudaException(call, status, text + " (" + status + ")");
        }
    }

    private static void requireAvailable() {
        if (LIB == null) {
            throw new CudaException(unavailableReason());
        }
    }

    /** A new handle bound to {@code stream}, math without reduced-precision reductions. */
    static MemorySegment create(MemorySegment stream) {
        requireAvailable();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((int) CREATE.invokeExact(out), "cublasCreate_v2");
            MemorySegment handle = out.get(ADDRESS, 0);
            check((int) SET_STREAM.invokeExact(handle, stream), "cublasSetStream_v2");
            check((int) SET_MATH_MODE.invokeExact(handle, MATH_DISALLOW_REDUCED_PRECISION_REDUCTION), "cublasSetMathMode");
            return handle;
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /**
     * Gives the handle its own workspace of {@code bytes} at device address {@code workspace}
     * (cublasSetWorkspace_v2; after cublasSetStream, which resets it). With it cuBLAS allocates
     * nothing while a stream is captured into a graph, and eager and captured GEMMs pick their
     * algorithms with the same workspace.
     */
    static void setWorkspace(MemorySegment handle, long workspace, long bytes) {
        try {
            check((int) SET_WORKSPACE.invokeExact(handle, workspace, bytes),
                    "cublasSetWorkspace_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    static void destroy(MemorySegment handle) {
        try {
            check((int) DESTROY.invokeExact(handle), "cublasDestroy_v2");
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /**
     * Column-major {@code C = alpha·op(A)·op(B) + beta·C} (cublasGemmEx, CUBLAS_COMPUTE_32F, default
     * algorithm). alpha and beta point to host f32 values; A, B, C are device pointers.
     */
    static void gemmEx(MemorySegment handle, int opA, int opB, int m, int n, int k, MemorySegment alpha, long a,
            int aType, int lda, long b, int bType, int ldb, MemorySegment beta, long c, int cType, int ldc) {
        int status;
        try {
            status = (int) GEMM_EX.invokeExact(handle, opA, opB, m, n, k, alpha, a, aType, lda, b, bType, ldb, beta, c,
                    cType, ldc, COMPUTE_32F, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
        check(status, "cublasGemmEx(m=" + m + ", n=" + n + ", k=" + k + ", lda=" + lda + ", ldb=" + ldb + ", ldc=" + ldc
                + ", types " + aType + "/" + bType + "/" + cType + ")");
    }

    /** {@link #gemmEx} over {@code batch} matrices at fixed element strides (cublasGemmStridedBatchedEx). */
    static void gemmStridedBatchedEx(MemorySegment handle, int opA, int opB, int m, int n, int k, MemorySegment alpha,
            long a, int aType, int lda, long strideA, long b, int bType, int ldb, long strideB, MemorySegment beta,
            long c, int cType, int ldc, long strideC, int batch) {
        int status;
        try {
            status = (int) GEMM_STRIDED_BATCHED_EX.invokeExact(handle, opA, opB, m, n, k, alpha, a, aType, lda, strideA,
                    b, bType, ldb, strideB, beta, c, cType, ldc, strideC, batch, COMPUTE_32F, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
        check(status, "cublasGemmStridedBatchedEx(m=" + m + ", n=" + n + ", k=" + k + ", batch=" + batch + ")");
    }
}
