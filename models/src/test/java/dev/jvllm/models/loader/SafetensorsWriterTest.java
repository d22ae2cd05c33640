package dev.jvllm.models.loader;

import dev.jvllm.api.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Write → read round trips, the float widening helper, and interop with the reference writer. */
class SafetensorsWriterTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(DType.class)
    void roundTripsEveryDtype(DType dtype) throws IOException {
        long[] shape = {3, 5, 2};
        byte[] bytes = new byte[30 * dtype.byteSize()];
        new Random(dtype.ordinal()).nextBytes(bytes);
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().metadata("format", "pt")
                .add("w", dtype, shape, MemorySegment.ofArray(bytes))
                .add("odd", DType.U8, new long[] {3}, MemorySegment.ofArray(new byte[] {1, 2, 3}))
                .write(f);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(Map.of("format", "pt"), sf.metadata());
            CheckpointTensor t = sf.tensors().stream().filter(x -> x.name().equals("w")).findFirst().orElseThrow();
            assertEquals(dtype, t.dtype());
            assertArrayEquals(shape, t.shape());
            assertEquals(30, t.numel());
            assertArrayEquals(bytes, t.data().toArray(ValueLayout.JAVA_BYTE));
            assertEquals(f, t.file());
        }
    }

    @Test
    void everyTensorIsAlignedToItsElementSizeAndHeaderIsSpacePaddedTo8() throws IOException {
        Path f = dir.resolve("mixed.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        int i = 0;
        for (DType t : DType.values()) { // odd element counts would misalign a naive layout
            w.add("t" + i++, t, new long[] {3}, MemorySegment.ofArray(new byte[3 * t.byteSize()]));
        }
        w.write(f);
        byte[] file = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8, "header length");
        String header = new String(file, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.stripTrailing().endsWith("}"));
        assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '));
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            for (CheckpointTensor t : sf.tensors()) {
                assertEquals(0, t.data().address() % t.dtype().byteSize(), t.toString());
            }
        }
    }

    @Test
    void floatArraysWidenExactlyAndNarrowToNearestEven() throws IOException {
        float[] v = {0f, -0f, 1f, -2.5f, 1e-3f, 65504f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                1.00390625f /* 1 + 2^-8: tie, bf16 rounds to even (1.0) */,
                1.01171875f /* 1 + 3·2^-8: tie, rounds up to 1 + 2^-6 */};
        Path f = dir.resolve("floats.safetensors");
        new SafetensorsWriter()
                .add("f32", new long[] {v.length}, v)
                .add("f16", DType.F16, new long[] {v.length}, v)
                .add("bf16", DType.BF16, new long[] {v.length}, v)
                .write(f);
        try (Checkpoint c = Checkpoint.open(f)) {
            assertArrayEquals(v, c.get("f32").toFloatArray());
            float[] h = c.get("f16").toFloatArray();
            float[] b = c.get("bf16").toFloatArray();
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), h[i], "f16 " + v[i]);
            }
            assertEquals(1.0f, b[9]);
            assertEquals(1.015625f, b[10]);
            assertEquals(-2.5f, b[3]);
            assertTrue(Float.isNaN(b[8]));
            assertEquals(Float.POSITIVE_INFINITY, b[6]);
            assertEquals(0x8000, Float.floatToRawIntBits(b[1]) >>> 16, "-0 keeps its sign");
        }
    }

    @Test
    void fp8E4M3WidensToTheOcpValues() throws IOException {
        byte[] bits = {0x38, (byte) 0xB8, 0x7E, 0x7F, 0x01, 0x08, 0x00, (byte) 0x80};
        float[] expected = {1f, -1f, 448f, Float.NaN, 0x1p-9f, 0x1p-6f, 0f, -0f};
        Path f = dir.resolve("fp8.safetensors");
        new SafetensorsWriter().add("w", DType.F8_E4M3, new long[] {8}, MemorySegment.ofArray(bits)).write(f);
        try (Checkpoint c = Checkpoint.open(f)) {
            assertArrayEquals(expected, c.get("w").toFloatArray());
        }
    }

    @Test
    void integerTensorsRefuseToFloatArray() throws IOException {
        Path f = dir.resolve("i.safetensors");
        new SafetensorsWriter().add("ids", DType.I32, new long[] {1}, MemorySegment.ofArray(new byte[4])).write(f);
        try (Checkpoint c = Checkpoint.open(f)) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> c.get("ids").toFloatArray());
            assertTrue(e.getMessage().contains("ids") && e.getMessage().contains("I32"), e.getMessage());
        }
    }

    @Test
    void scalarsAndEmptyTensorsRoundTrip() throws IOException {
        Path f = dir.resolve("s.safetensors");
        new SafetensorsWriter()
                .add("scalar", new long[] {}, new float[] {42f})
                .add("empty", new long[] {0, 16}, new float[0])
                .add("empty2", new long[] {4, 0}, new float[0])
                .write(f);
        try (Checkpoint c = Checkpoint.open(f)) {
            assertEquals(0, c.get("scalar").rank());
            assertArrayEquals(new float[] {42f}, c.get("scalar").toFloatArray());
            assertEquals(0, c.get("empty").numel());
            assertEquals(16, c.get("empty").dim(-1));
            assertEquals(0, c.get("empty2").toFloatArray().length);
        }
    }

    @Test
    void writesSegmentsOverNonByteArrays() throws IOException {
        float[] v = {1, 2, 3, 4};
        Path f = dir.resolve("heap.safetensors");
        new SafetensorsWriter().add("w", DType.F32, new long[] {2, 2}, MemorySegment.ofArray(v)).write(f);
        try (Checkpoint c = Checkpoint.open(f)) {
            assertArrayEquals(v, c.get("w").toFloatArray());
        }
    }

    @Test
    void writerRejectsBadInput() {
        SafetensorsWriter w = new SafetensorsWriter().add("a", new long[] {1}, new float[1]);
        assertThrows(IllegalArgumentException.class, () -> w.add("a", new long[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> w.add("__metadata__", new long[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> w.add("b", new long[] {2}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> w.add("c", new long[] {-1}, new float[0]));
        assertThrows(IllegalArgumentException.class, () -> w.add("d", DType.I8, new long[] {1}, new float[1]));
    }

    /**
     * reference.safetensors was written by the reference implementation (safetensors 0.8.0):
     * <pre>
     * from safetensors.numpy import save_file
     * save_file({
     *   "model.embed_tokens.weight": (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 4,
     *   "model.norm.weight": np.array([1.0, -2.5, 65504.0, 6.1035156e-05, np.inf], dtype=np.float16),
     *   "ids": np.array([[1, -2], [2**31 - 1, -2**31]], dtype=np.int32),
     *   "position": np.array(2**40 + 3, dtype=np.int64),
     *   "q": np.array([-128, -1, 0, 127], dtype=np.int8),
     *   "u": np.array([0, 1, 255], dtype=np.uint8),
     *   "empty": np.zeros((0, 7), dtype=np.float32),
     * }, "reference.safetensors", metadata={"format": "np"})
     * </pre>
     */
    @Test
    void readsTheReferenceWritersFileAndWritesTheSameBytes() throws IOException {
        byte[] reference;
        try (InputStream in = getClass().getResourceAsStream("reference.safetensors")) {
            reference = in.readAllBytes();
        }
        Path ref = dir.resolve("reference.safetensors");
        Files.write(ref, reference);

        float[] embed = new float[12];
        for (int i = 0; i < 12; i++) {
            embed[i] = (i - 5.5f) / 4;
        }
        float[] norm = {1.0f, -2.5f, 65504f, Float.float16ToFloat(Float.floatToFloat16(6.1035156e-05f)),
                Float.POSITIVE_INFINITY};
        ByteBuffer ids = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(1).putInt(-2).putInt(Integer.MAX_VALUE).putInt(Integer.MIN_VALUE);
        ByteBuffer pos = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong((1L << 40) + 3);
        byte[] q = {-128, -1, 0, 127};
        byte[] u = {0, 1, (byte) 255};

        try (Checkpoint c = Checkpoint.open(ref)) {
            assertEquals(List.of("position", "empty", "model.embed_tokens.weight", "ids", "model.norm.weight", "q", "u"),
                    c.names(), "data-offset order");
            assertArrayEquals(embed, c.get("model.embed_tokens.weight").toFloatArray());
            assertArrayEquals(new long[] {3, 4}, c.get("model.embed_tokens.weight").shape());
            assertArrayEquals(norm, c.get("model.norm.weight").toFloatArray());
            assertArrayEquals(ids.array(), c.get("ids").data().toArray(ValueLayout.JAVA_BYTE));
            assertEquals(0, c.get("position").rank());
            assertArrayEquals(pos.array(), c.get("position").data().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(new long[] {0, 7}, c.get("empty").shape());
            assertArrayEquals(q, c.get("q").data().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(u, c.get("u").data().toArray(ValueLayout.JAVA_BYTE));
        }

        Path ours = dir.resolve("ours.safetensors");
        new SafetensorsWriter().metadata("format", "np")
                .add("model.embed_tokens.weight", new long[] {3, 4}, embed)
                .add("model.norm.weight", DType.F16, new long[] {5}, norm)
                .add("ids", DType.I32, new long[] {2, 2}, MemorySegment.ofArray(ids.array()))
                .add("position", DType.I64, new long[] {}, MemorySegment.ofArray(pos.array()))
                .add("q", DType.I8, new long[] {4}, MemorySegment.ofArray(q))
                .add("u", DType.U8, new long[] {3}, MemorySegment.ofArray(u))
                .add("empty", new long[] {0, 7}, new float[0])
                .write(ours);
        assertArrayEquals(reference, Files.readAllBytes(ours),
                () -> "header differs:\nref:  " + header(reference) + "\nours: " + header(readUnchecked(ours)));
    }

    private static String header(byte[] file) {
        long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return new String(file, 8, (int) Math.min(n, file.length - 8), StandardCharsets.UTF_8);
    }

    private static byte[] readUnchecked(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
