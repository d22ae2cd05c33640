package dev.jvllm.models.loader;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Fuzzes the safetensors header parser: whatever the bytes, {@link SafetensorsFile#parse}
 * either returns tensors that can all be read in bounds or throws {@link SafetensorsException}.
 * Any other throwable fails the test (Jazzer reports it as a finding).
 *
 * <p>Without {@code JAZZER_FUZZ} (plain {@code mvn test}, CI) each method runs once per file in
 * {@code src/test/resources/dev/jvllm/models/loader/SafetensorsFuzzTestInputs/<method>/}.
 * To fuzz: {@code JAZZER_FUZZ=1 mvn -pl api,reference-cpu,models test -Dtest=SafetensorsFuzzTest#headerJson}
 * and add any crash it finds to the inputs directory (and a named case to
 * SafetensorsValidationTest).
 */
class SafetensorsFuzzTest {

    private static final Path NAME = Path.of("fuzz.safetensors");

    /** The input is the whole file: header length, header and data. */
    @FuzzTest(maxDuration = "30s")
    void wholeFile(byte[] file) {
        check(file);
    }

    /**
     * Structure-aware: input = 2 bytes (u16 LE data-section length) + header JSON text. The
     * length prefix is computed here, so the fuzzer spends its time on the JSON and offsets.
     */
    @FuzzTest(maxDuration = "30s")
    void headerJson(byte[] input) {
        if (input.length < 2) {
            return;
        }
        int dataLen = (input[0] & 0xFF) | (input[1] & 0xFF) << 8;
        int headerLen = input.length - 2;
        ByteBuffer b = ByteBuffer.allocate(8 + headerLen + dataLen).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLen).put(input, 2, headerLen);
        for (int i = 0; i < dataLen; i++) {
            b.put((byte) (i * 31 + 7)); // non-zero so float conversions see varied bits
        }
        check(b.array());
    }

    private static void check(byte[] file) {
        SafetensorsFile.Header h;
        try {
            h = SafetensorsFile.parse(MemorySegment.ofArray(file), NAME);
        } catch (SafetensorsException expected) {
            if (expected.getMessage() == null || !expected.getMessage().contains("fuzz.safetensors")) {
                throw new AssertionError("message does not name the file: " + expected.getMessage(), expected);
            }
            return;
        }
        // Accepted: every tensor must be readable in bounds.
        for (CheckpointTensor t : h.tensors()) {
            if (t.data().byteSize() != t.numel() * t.dtype().byteSize()) {
                throw new AssertionError("size mismatch accepted for " + t);
            }
            if (t.dtype().isFloat() && t.numel() < 1 << 16) {
                t.toFloatArray();
            } else if (t.data().byteSize() > 0) {
                t.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, t.data().byteSize() - 1);
            }
        }
    }
}
