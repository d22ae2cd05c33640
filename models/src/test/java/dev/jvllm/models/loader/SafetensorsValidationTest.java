package dev.jvllm.models.loader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every way a safetensors file can be malformed is refused at open with a
 * {@link SafetensorsException} that names the file and, where there is one, the tensor.
 */
class SafetensorsValidationTest {

    private static final Path FILE = Path.of("/models/bad.safetensors");

    @TempDir
    Path dir;

    /** A file with this header text (unpadded) and {@code dataBytes} bytes of data. */
    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).array();
    }

    static SafetensorsFile.Header parse(byte[] file) {
        return SafetensorsFile.parse(MemorySegment.ofArray(file), FILE);
    }

    /** Asserts rejection and that the message contains the file name and every fragment. */
    static String rejected(byte[] file, String... fragments) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> parse(file));
        String m = e.getMessage();
        assertTrue(m.contains(FILE.toString()), "message should name the file: " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), "message should contain \"" + f + "\": " + m);
        }
        return m;
    }

    static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape
                + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    @Test
    void acceptsAWellFormedFile() {
        SafetensorsFile.Header h = parse(file("{\"__metadata__\":{\"format\":\"pt\"},"
                + entry("b", "F32", "[2]", 8, 16) + "," + entry("a", "BF16", "[2,2]", 0, 8) + "}   ", 16));
        assertEquals(List.of("a", "b"), h.tensors().stream().map(CheckpointTensor::name).toList(), "offset order");
        assertEquals("pt", h.metadata().get("format"));
    }

    @Test
    void acceptsGapsEmptyTensorsAndNullMetadata() {
        SafetensorsFile.Header h = parse(file("{\"__metadata__\":null," + entry("a", "U8", "[2]", 0, 2) + ","
                + entry("e", "F32", "[0]", 1, 1) + "," + entry("b", "U8", "[2]", 6, 8) + "}", 8));
        assertEquals(3, h.tensors().size());
    }

    @Test
    void fileShorterThanTheLengthPrefix() {
        rejected(new byte[] {1, 2, 3}, "3 bytes", "truncated");
        rejected(new byte[0], "0 bytes");
    }

    @Test
    void headerLongerThan100MB() {
        byte[] f = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200_000_000L).array();
        rejected(f, "200000000", "100 MB");
        byte[] neg = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array();
        rejected(neg, "18446744073709551615");
    }

    @Test
    void headerRunningPastTheEndOfTheFile() {
        byte[] f = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(10).put("{}  ".getBytes()).array();
        rejected(f, "header length 10", "12 bytes", "truncated");
    }

    @Test
    void truncatedFileOnDiskNamesTheTensorThatRunsPastTheEnd() throws IOException {
        Path p = dir.resolve("model.safetensors");
        new SafetensorsWriter().add("a", new long[] {4}, new float[4]).add("b", new long[] {8}, new float[8]).write(p);
        byte[] whole = Files.readAllBytes(p);
        Files.write(p, java.util.Arrays.copyOf(whole, whole.length - 5));
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(p));
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("tensor ")
                && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void emptyFileOnDisk() throws IOException {
        Path p = dir.resolve("empty.safetensors");
        Files.write(p, new byte[0]);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(p));
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("0 bytes"), e.getMessage());
    }

    @Test
    void overlappingTensorsNameBoth() {
        rejected(file("{" + entry("first", "F32", "[2]", 0, 8) + "," + entry("second", "F32", "[2]", 4, 12) + "}", 12),
                "second", "overlaps", "first");
    }

    @Test
    void offsetsOutOfRange() {
        rejected(file("{" + entry("w", "F32", "[4]", 0, 16) + "}", 12), "tensor w", "[0, 16]", "12 bytes");
        rejected(file("{" + entry("w", "U8", "[0]", 9, 9) + "}", 8), "tensor w", "[9, 9]");
    }

    @Test
    void beginAfterEnd() {
        rejected(file("{" + entry("w", "U8", "[0]", 8, 4) + "}", 8), "tensor w", "begin > end");
    }

    @Test
    void sizeMismatch() {
        rejected(file("{" + entry("w", "BF16", "[3]", 0, 8) + "}", 8), "tensor w", "8 bytes", "needs 6");
    }

    @Test
    void duplicateNames() {
        String e = entry("dup", "U8", "[1]", 0, 1);
        rejected(file("{" + e + "," + e + "}", 1), "\"dup\"", "twice");
        rejected(file("{\"w\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
                "dtype");
    }

    @Test
    void badJson() {
        rejected(file("{\"w\": {\"dtype\": ", 0), "not valid JSON");
        rejected(file("[1, 2]", 0), "not a JSON object");
        rejected(file("", 0), "not a JSON object");
        rejected(file("{} {}", 0), "after its JSON object");
        rejected(file("{}x", 0), "JSON");
        byte[] f = file("{\"\u00e9\":1}", 0);
        f[10] = (byte) 0xFF; // break the UTF-8 of é
        rejected(f, "UTF-8");
    }

    @Test
    void unknownAndUnsupportedDtypes() {
        rejected(file("{" + entry("w", "Q4_K", "[1]", 0, 1) + "}", 1), "tensor w", "unknown dtype", "Q4_K", "BF16");
        rejected(file("{" + entry("w", "F64", "[1]", 0, 8) + "}", 8), "tensor w", "F64", "not supported");
        rejected(file("{" + entry("w", "BOOL", "[1]", 0, 1) + "}", 1), "tensor w", "BOOL");
        rejected(file("{\"w\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "tensor w", "dtype");
    }

    @Test
    void negativeAndNonIntegerDims() {
        rejected(file("{" + entry("w", "U8", "[-1]", 0, 0) + "}", 0), "tensor w", "shape[0]", "-1");
        rejected(file("{" + entry("w", "U8", "[2.0]", 0, 2) + "}", 2), "tensor w", "shape[0]", "integer");
        rejected(file("{" + entry("w", "U8", "[\"2\"]", 0, 2) + "}", 2), "tensor w", "shape[0]");
        rejected(file("{" + entry("w", "U8", "4", 0, 4) + "}", 4), "tensor w", "shape");
        rejected(file("{" + entry("w", "U8", "[99999999999999999999]", 0, 4) + "}", 4), "tensor w", "long");
    }

    @Test
    void shapeWhoseProductOverflows() {
        rejected(file("{" + entry("w", "U8", "[4294967296,4294967296]", 0, 0) + "}", 0), "tensor w", "long");
        rejected(file("{" + entry("w", "I64", "[2305843009213693952]", 0, 0) + "}", 0), "tensor w", "overflows");
    }

    @Test
    void entriesWithMissingOrExtraFieldsOrWrongTypes() {
        rejected(file("{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1), "tensor w", "lacks data_offsets");
        rejected(file("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", 1),
                "tensor w", "unexpected field \"x\"");
        rejected(file("{\"w\":[1]}", 1), "tensor w", "an array");
        rejected(file("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1), "tensor w", "[begin, end]");
        rejected(file("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,-1]}}", 1), "tensor w", "-1");
    }

    @Test
    void metadataMustBeStringToString() {
        rejected(file("{\"__metadata__\":{\"format\":1}}", 0), "__metadata__.format", "string");
        rejected(file("{\"__metadata__\":[]}", 0), "__metadata__");
    }
}
