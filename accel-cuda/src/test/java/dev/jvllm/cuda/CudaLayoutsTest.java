package dev.jvllm.cuda;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.OpKind;
import java.io.IOException;
import java.lang.foreign.StructLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What ties the Java side to the kernels and the driver without a GPU: struct layouts against
 * cuda.h and common.cuh, dtype and activation codes against the .cu enums, every kernel name the
 * Java code launches against the kernels the .cu files declare, and the family registry.
 */
class CudaLayoutsTest {
    /**
     * The module's directory: the working directory under Maven, ../accel-cuda under
     * tools/gpu/run-tests.sh (which runs from engine/), accel-cuda from the repository root.
     */
    private static final Path MODULE = Stream.of("", "../accel-cuda", "accel-cuda").map(Path::of)
            .filter(d -> java.nio.file.Files.isDirectory(d.resolve("src/main/cuda"))).findFirst().orElse(Path.of(""));
    private static final Path CUDA = MODULE.resolve("src/main/cuda");
    private static final Path JAVA = MODULE.resolve("src/main/java/dev/jvllm/cuda");

    @Test
    void viewMatchesCommonCuh() {
        assertEquals(24, NativeLayouts.VIEW.byteSize());
        assertEquals(0, NativeLayouts.VIEW.byteOffset(groupElement("p")));
        assertEquals(8, NativeLayouts.VIEW.byteOffset(groupElement("stride")));
        assertEquals(16, NativeLayouts.VIEW.byteOffset(groupElement("dt")));
    }

    /** Offsets printed by offsetof() over CUDA 13.0's cuda.h on x86-64. */
    @Test
    void memcpy2DMatchesCudaH() {
        assertLayout(NativeLayouts.MEMCPY2D, 128, "srcMemoryType", 16, "srcHost", 24, "srcDevice", 32, "srcPitch", 48,
                "dstXInBytes", 56, "dstMemoryType", 72, "dstHost", 80, "dstDevice", 88, "dstPitch", 104,
                "WidthInBytes", 112, "Height", 120);
    }

    /** A struct's size and the byte offsets of the named fields (pairs: name, offset). */
    private static void assertLayout(StructLayout l, long size, Object... fieldOffsets) {
        assertEquals(size, l.byteSize(), l.toString());
        for (int i = 0; i < fieldOffsets.length; i += 2) {
            String field = (String) fieldOffsets[i];
            assertEquals(((Integer) fieldOffsets[i + 1]).longValue(), l.byteOffset(groupElement(field)), field);
        }
    }

    @Test
    void fusionListsParse() {
        assertEquals(Set.of("gated", "rotary"), CudaBackend.fusions(" Gated , rotary"));
        assertEquals(Set.of("norm", "gated", "rotary"), CudaBackend.fusions("all"));
        assertEquals(Set.of(), CudaBackend.fusions("none"));
        assertEquals(Set.of(), CudaBackend.fusions(""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaBackend.fusions("gated,silu"));
        assertTrue(e.getMessage().contains("unknown fusion 'silu'"), e.getMessage());
    }

    @Test
    void kernelSkipsMatchPrefixesAndOrdinals() {
        KernelSkips s = new KernelSkips(" norm_rms , linear_gemv%4=2,argmax#1");
        boolean[] gemv = new boolean[9];
        for (int i = 0; i < gemv.length; i++) {
            gemv[i] = s.skip("linear_gemv_bf16");
        }
        assertArrayEquals(new boolean[] {false, false, true, false, false, false, true, false, false}, gemv);
        assertTrue(s.skip("norm_rms_bf16_bf16"));
        assertTrue(s.skip("norm_rms_bf16_bf16"));
        assertFalse(s.skip("argmax_rows"));
        assertTrue(s.skip("argmax_rows"));
        assertFalse(s.skip("argmax_rows"));
        assertFalse(s.skip("rot_apply_kv"));
        assertTrue(new KernelSkips("").isEmpty());
        for (String bad : new String[] {"x%0=0", "x%4=4", "x%4", "x#-1", "x#a", "%4=1", "x=1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KernelSkips(bad), bad);
            assertTrue(e.getMessage().contains("bad entry '" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void launchConfigMatchesCudaH() {
        assertLayout(NativeLayouts.LAUNCH_CONFIG, 56, "gridDimX", 0, "blockDimX", 12, "sharedMemBytes", 24,
                "hStream", 32, "attrs", 40, "numAttrs", 48);
        // id, pad[8 - sizeof(id)], a 64-byte union
        assertLayout(NativeLayouts.LAUNCH_ATTRIBUTE, 72, "id", 0, "value", 8);
    }

    @Test
    void dtypeCodesMatchDTypeOrdinals() throws IOException {
        Map<String, Integer> codes = enumValues(read(CUDA.resolve("common.cuh")), "DTypeCode");
        for (DType t : DType.values()) {
            assertEquals(t.ordinal(), codes.get("DT_" + t.name()), "DT_" + t.name() + " in common.cuh");
        }
        assertEquals(DType.values().length, codes.size());
    }

    @Test
    void activationCodesMatchActivationKind() throws IOException {
        Map<String, Integer> codes = enumValues(read(CUDA.resolve("activation.cuh")), "Fn");
        for (ActivationKind k : ActivationKind.values()) {
            assertEquals(k.ordinal(), codes.get(k.name()), k + " in activation.cuh");
        }
    }

    @Test
    void everyLaunchedKernelIsDeclaredOnce() throws IOException {
        List<String> declared = new ArrayList<>();
        // a kernel written out, or one a macro defines: a line "SOME_MACRO(kernel_name, ...)" at the start
        Pattern decl = Pattern.compile("extern \"C\" __global__ void (?:__launch_bounds__\\([^)]*\\) )?([a-z]\\w*)\\("
                + "|(?m)^[A-Z][A-Z0-9_]*\\(([a-z]\\w*), ");
        for (Path cu : files(CUDA, ".cu")) {
            Matcher m = decl.matcher(read(cu));
            while (m.find()) {
                declared.add(m.group(1) != null ? m.group(1) : m.group(2));
            }
        }
        assertFalse(declared.isEmpty());
        assertEquals(declared.size(), new TreeSet<>(declared).size(), "a kernel name is declared twice: " + declared);
        Set<String> launched = new TreeSet<>();
        Pattern use = Pattern.compile("kernel\\(\"(\\w+)\"\\)|\"((?:attn_(?:paged|flash|decode)|norm_rms|linear_gemv)_\\w+)\"");
        for (Path java : files(JAVA, ".java")) {
            Matcher m = use.matcher(read(java));
            while (m.find()) {
                launched.add(m.group(1) != null ? m.group(1) : m.group(2));
            }
        }
        assertFalse(launched.isEmpty());
        for (String k : launched) {
            assertTrue(declared.contains(k), "Java launches " + k + " but no .cu file declares it");
        }
        for (String k : declared) {
            assertTrue(launched.contains(k), "kernel " + k + " is declared but never launched");
        }
    }

    @Test
    void familiesClaimDisjointOpsAndEveryFamilyIsRegistered() throws IOException {
        var routes = CudaBackend.route(KernelFamilies.ALL, null); // constructors only keep the Gpu
        assertTrue(routes.keySet().containsAll(Set.of(OpKind.COPY, OpKind.LINEAR, OpKind.PAGED_ATTENTION)));
        Set<String> registered = new TreeSet<>();
        routes.values().forEach(f -> registered.add(f.getClass().getSimpleName()));
        for (Path java : files(JAVA, "Kernels.java")) {
            String cls = java.getFileName().toString().replace(".java", "");
            if (read(java).contains("implements KernelFamily")) {
                assertTrue(registered.contains(cls), cls + " implements KernelFamily but is not in KernelFamilies.ALL");
            }
        }
    }

    /** The GEMV's slice count follows the shape, with linear.cu's batch and block sizes. */
    @Test
    void gemvSplitsFollowTheShapeAndLinearCu() throws IOException {
        String cu = read(CUDA.resolve("linear.cu"));
        Matcher b = Pattern.compile("constexpr int GV_B = (\\d+)").matcher(cu);
        Matcher w = Pattern.compile("constexpr int GV_WARPS = (\\d+)").matcher(cu);
        assertTrue(b.find() && w.find(), "GV_B and GV_WARPS in linear.cu");
        assertEquals(Integer.parseInt(b.group(1)) * 32 * 8, LinearKernels.GEMV_BATCH_K);
        assertEquals(Integer.parseInt(w.group(1)), LinearKernels.GEMV_WARPS);
        assertEquals(0, LinearKernels.GEMV_WARPS % 4, "an item's slices stay in one block");
        assertEquals(2, LinearKernels.gemvSplits(1024, 2048), "o_proj of a 2048-wide model");
        assertEquals(2, LinearKernels.gemvSplits(1024, 8192), "down_proj");
        assertEquals(1, LinearKernels.gemvSplits(1536, 2048), "q/k/v");
        assertEquals(1, LinearKernels.gemvSplits(8192, 2048), "gate/up");
        assertEquals(4, LinearKernels.gemvSplits(32, 4096));
        assertEquals(2, LinearKernels.gemvSplits(19, 2056), "three batches: two slices");
        assertEquals(1, LinearKernels.gemvSplits(5, 1000), "one batch");
    }

    @Test
    void sizeClasses() {
        assertEquals(512, DeviceAllocator.sizeClass(0));
        assertEquals(512, DeviceAllocator.sizeClass(512));
        assertEquals(1024, DeviceAllocator.sizeClass(513));
        assertEquals(1 << 20, DeviceAllocator.sizeClass((1 << 19) + 1));
        assertEquals(2 << 20, DeviceAllocator.sizeClass((1 << 20) + 1));
        assertEquals(4 << 20, DeviceAllocator.sizeClass((2 << 20) + 1));
    }

    @Test
    void fillBitsFollowTheCpuRules() {
        assertEquals(Float.floatToRawIntBits(0.1f) & 0xFFFFFFFFL, DataKernels.bits(DType.F32, 0.1));
        assertEquals(0x7E, DataKernels.bits(DType.F8_E4M3, 1000)); // saturates at 448
        assertEquals(0x7C00, DataKernels.bits(DType.F16, 1e5)); // overflows to +Inf
        assertEquals(0xFE, DataKernels.bits(DType.I8, -2.7)); // truncates to -2
        assertEquals(-2L, DataKernels.bits(DType.I64, -2.7));
        assertEquals(0x8000, DataKernels.bits(DType.BF16, -0.0));
    }

    private static Map<String, Integer> enumValues(String source, String enumName) {
        Matcher m = Pattern.compile("enum " + enumName + " \\{([^}]*)\\}").matcher(source);
        assertTrue(m.find(), "enum " + enumName);
        Map<String, Integer> out = new LinkedHashMap<>();
        for (String part : m.group(1).split(",")) {
            String[] kv = part.trim().split("=");
            out.put(kv[0].trim(), Integer.parseInt(kv[1].trim()));
        }
        return out;
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p);
    }

    private static List<Path> files(Path dir, String suffix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
        }
    }
}
