package dev.jvllm.models.loader;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.jvllm.api.DType;

import java.io.IOException;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects named tensors and writes them as one safetensors file.
 *
 * <p>Layout follows the reference writer (safetensors' Rust {@code prepare}), byte for byte
 * given the same tensors and a single metadata entry (SafetensorsWriterTest checks this against
 * a file it wrote): tensors in descending order of the reference's dtype enum (which
 * orders by element size, so every tensor starts at a multiple of its element size), then by
 * name; compact header JSON with {@code __metadata__} first, padded with spaces to a multiple
 * of 8 bytes so the data section is 8-aligned.
 * The file is written to a temporary sibling and moved into place, so readers never see a
 * half-written file.
 *
 * <pre>{@code
 * new SafetensorsWriter()
 *     .metadata("format", "pt")
 *     .add("logits", new long[] {3, 32000}, logits)      // float[] → F32
 *     .write(dir.resolve("logits.safetensors"));
 * }</pre>
 *
 * Segments handed to {@link #add(String, DType, long[], MemorySegment)} are read at
 * {@link #write(Path)} time, not copied before.
 */
public final class SafetensorsWriter {

    private record Entry(String name, DType dtype, long[] shape, MemorySegment bytes) {
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds a {@code __metadata__} entry (the reference writer's torch path sets {@code format=pt}). */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /**
     * Adds a tensor from raw little-endian bytes.
     *
     * @param bytes exactly {@code numel(shape) * dtype.byteSize()} bytes, row-major
     * @throws IllegalArgumentException on a duplicate or reserved name, a negative dim, or a byte
     *                                  count that does not match the shape
     */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, MemorySegment bytes) {
        if (name.equals("__metadata__")) {
            throw new IllegalArgumentException("tensor name __metadata__ is reserved by safetensors");
        }
        if (entries.containsKey(name)) {
            throw new IllegalArgumentException("tensor " + name + " added twice");
        }
        long numel = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor " + name + " has negative dim in shape "
                        + java.util.Arrays.toString(shape));
            }
            numel = Math.multiplyExact(numel, d);
        }
        long expected = Math.multiplyExact(numel, (long) dtype.byteSize());
        if (bytes.byteSize() != expected) {
            throw new IllegalArgumentException("tensor " + name + ": " + bytes.byteSize() + " bytes given, but "
                    + dtype + " " + java.util.Arrays.toString(shape) + " needs " + expected);
        }
        entries.put(name, new Entry(name, dtype, shape.clone(), bytes));
        return this;
    }

    /** Adds an F32 tensor. */
    public SafetensorsWriter add(String name, long[] shape, float[] values) {
        return add(name, DType.F32, shape, values);
    }

    /**
     * Adds {@code values} stored as {@code dtype} (F32, F16 or BF16); narrowing rounds to
     * nearest even ({@link Float#floatToFloat16} for F16).
     */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
        MemorySegment seg = switch (dtype) {
            case F32 -> {
                MemorySegment s = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 4)]);
                MemorySegment.copy(values, 0, s, CheckpointTensor.F32_LE, 0, values.length);
                yield s;
            }
            case F16, BF16 -> {
                MemorySegment s = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 2)]);
                for (int i = 0; i < values.length; i++) {
                    short h = dtype == DType.F16 ? Float.floatToFloat16(values[i]) : FloatBits.f32ToBf16(values[i]);
                    s.set(CheckpointTensor.I16_LE, 2L * i, h);
                }
                yield s;
            }
            default -> throw new IllegalArgumentException("tensor " + name + ": cannot store float[] as " + dtype
                    + "; pass F32, F16 or BF16, or raw bytes through add(name, dtype, shape, MemorySegment)");
        };
        return add(name, dtype, shape, seg);
    }

    /** Writes the file, replacing any existing one. */
    public void write(Path file) throws IOException {
        List<Entry> order = new ArrayList<>(entries.values());
        order.sort(Comparator.comparingInt((Entry e) -> -referenceRank(e.dtype))
                .thenComparing((a, b) -> java.util.Arrays.compareUnsigned(
                        a.name.getBytes(StandardCharsets.UTF_8), b.name.getBytes(StandardCharsets.UTF_8))));

        StringWriter sw = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(sw)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (Map.Entry<String, String> m : metadata.entrySet()) {
                    g.writeStringField(m.getKey(), m.getValue());
                }
                g.writeEndObject();
            }
            long offset = 0;
            for (Entry e : order) {
                g.writeObjectFieldStart(e.name);
                g.writeStringField("dtype", e.dtype.safetensorsName());
                g.writeArrayFieldStart("shape");
                for (long d : e.shape) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                offset += e.bytes.byteSize();
                g.writeNumber(offset);
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        byte[] json = sw.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;

        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            writeFully(ch, head.flip());
            for (Entry e : order) {
                // asByteBuffer is limited to 2 GiB; write big tensors in slices.
                long chunk = 1L << 30;
                for (long at = 0; at < e.bytes.byteSize(); at += chunk) {
                    MemorySegment part = e.bytes.asSlice(at, Math.min(chunk, e.bytes.byteSize() - at));
                    writeFully(ch, asByteBuffer(part));
                }
            }
        } catch (IOException | RuntimeException ex) {
            Files.deleteIfExists(tmp);
            throw ex;
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Position in the reference's {@code Dtype} enum (BOOL, F4, …, U8, I8, F8_E5M2, F8_E4M3,
     * F8_E8M0, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64), restricted to ours.
     */
    private static int referenceRank(DType t) {
        return switch (t) {
            case U8 -> 0;
            case I8 -> 1;
            case F8_E4M3 -> 2;
            case F16 -> 3;
            case BF16 -> 4;
            case I32 -> 5;
            case F32 -> 6;
            case I64 -> 7;
        };
    }

    /** Heap segments over float[]/int[]/... have no ByteBuffer view; copy those. */
    private static ByteBuffer asByteBuffer(MemorySegment s) {
        if (s.isNative() || s.heapBase().orElse(null) instanceof byte[]) {
            return s.asByteBuffer();
        }
        return ByteBuffer.wrap(s.toArray(ValueLayout.JAVA_BYTE));
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
