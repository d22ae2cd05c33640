package dev.jvllm.models.loader;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvllm.api.DType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One safetensors file, memory-mapped read-only, with its header parsed and validated.
 *
 * <p>Layout (https://github.com/huggingface/safetensors):
 * <pre>
 *   [0, 8)        N: u64 little-endian, the header length
 *   [8, 8+N)      UTF-8 JSON object: name → {"dtype", "shape", "data_offsets": [begin, end]},
 *                 plus an optional "__metadata__": {string: string}; may end in spaces (padding)
 *   [8+N, size)   the data section; offsets are relative to its start
 * </pre>
 *
 * <p>Validation is strict and happens once, at open, so that no later read of a tensor can
 * go out of bounds: N ≤ 100 MB and 8 + N ≤ file size; a JSON object with no duplicate names;
 * each entry has exactly dtype/shape/data_offsets; dtype is one of {@link DType}; dims are
 * non-negative and their product fits in a long; begin ≤ end ≤ data size;
 * end − begin = numel × element size; the byte ranges of non-empty tensors do not overlap.
 * Gaps between tensors are allowed (the reference writer never leaves any, other writers may
 * align tensors). Every violation is a {@link SafetensorsException} naming the file and tensor.
 *
 * <p>Most callers want {@link Checkpoint}, which opens a whole model directory.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** The reference implementation's bound on N (safetensors {@code MAX_HEADER_SIZE}). */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    // Duplicate names: top-level ones are caught by parse() itself (for a message naming the
    // tensor); nested ones (a "dtype" given twice) by FAIL_ON_READING_DUP_TREE_KEY. Jackson's
    // STRICT_DUPLICATE_DETECTION would do both, but pre-empt our message at the top level.
    private static final ObjectMapper JSON = new ObjectMapper(new JsonFactory())
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    /** Dtypes safetensors defines that jvllm does not read, for a better message than "unknown". */
    private static final Set<String> KNOWN_UNSUPPORTED = Set.of(
            "F64", "BOOL", "I16", "U16", "U32", "U64", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2",
            "F4", "C64");

    private final Path path;
    private final Arena ownArena; // null when the arena belongs to a Checkpoint
    private final Header header;

    private SafetensorsFile(Path path, Arena ownArena, Header header) {
        this.path = path;
        this.ownArena = ownArena;
        this.header = header;
    }

    /**
     * Maps and validates one file. The mapping lives until {@link #close()}.
     *
     * @throws SafetensorsException if the file is not a valid safetensors file
     * @throws IOException          if it cannot be read
     */
    public static SafetensorsFile open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            return open(file, arena, true);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Maps {@code file} into {@code arena}, which the caller owns and closes. */
    static SafetensorsFile open(Path file, Arena arena, boolean ownsArena) throws IOException {
        MemorySegment mapping;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            mapping = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
        HugePageAdvice.advise(mapping); // before the header's read faults the first pages in
        Header h = parse(mapping, file);
        return new SafetensorsFile(file, ownsArena ? arena : null, h);
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** All tensors, in data-offset order (the order they lie on disk). */
    public List<CheckpointTensor> tensors() {
        return header.tensors;
    }

    /** The {@code __metadata__} map (e.g. {@code {"format": "pt"}}); empty if absent. */
    public Map<String, String> metadata() {
        return header.metadata;
    }

    /** Unmaps the file if this object owns its mapping; tensors read afterwards throw. */
    @Override
    public void close() {
        if (ownArena != null) {
            ownArena.close();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Header parsing. Package-private so the fuzz test can feed bytes without touching disk.

    /** A validated header: tensors in data-offset order, metadata in file order. */
    record Header(List<CheckpointTensor> tensors, Map<String, String> metadata) {
    }

    /**
     * Parses and validates the header of a whole safetensors file held in {@code file}.
     * Never throws anything but {@link SafetensorsException} (the fuzz test holds it to that).
     *
     * @param file the whole file's bytes; tensors are slices of it
     * @param path the file's name, used only in messages and in {@link CheckpointTensor#file()}
     */
    static Header parse(MemorySegment file, Path path) {
        String where = path.toString();
        long size = file.byteSize();
        if (size < 8) {
            throw new SafetensorsException(where + ": file is " + size + " bytes, shorter than the 8-byte header"
                    + " length; it is truncated or not a safetensors file (re-download it)");
        }
        long n = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new SafetensorsException(where + ": header length " + Long.toUnsignedString(n)
                    + " bytes exceeds the 100 MB limit; this is not a safetensors file or it is corrupt");
        }
        if (8 + n > size) {
            throw new SafetensorsException(where + ": header length " + n + " bytes runs past the end of the"
                    + " file (" + size + " bytes); the file is truncated (re-download it)");
        }
        String json;
        try {
            ByteBuffer bytes = file.asSlice(8, n).asByteBuffer();
            json = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(where + ": header is not valid UTF-8 (" + e + "); the file is corrupt", e);
        }
        long dataStart = 8 + n;
        long dataSize = size - dataStart;

        List<CheckpointTensor> tensors = new ArrayList<>();
        List<long[]> ranges = new ArrayList<>(); // [begin, end] per tensor, same index
        Map<String, String> metadata = Map.of();
        Set<String> seen = new HashSet<>();
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new SafetensorsException(where + ": header is not a JSON object (it starts with "
                        + snippet(json) + "); this is not a safetensors file");
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                JsonNode value = JSON.readTree(p);
                if (!seen.add(name)) {
                    throw new SafetensorsException(where + ": header names tensor \"" + name + "\" twice;"
                            + " the file is corrupt (rewrite it with one entry per name)");
                }
                if (name.equals("__metadata__")) {
                    metadata = parseMetadata(value, where);
                    continue;
                }
                long[] range = new long[2];
                tensors.add(parseEntry(name, value, range, file, dataStart, dataSize, path));
                ranges.add(range);
            }
            if (t != JsonToken.END_OBJECT) {
                throw new SafetensorsException(where + ": header JSON object is malformed");
            }
            if (p.nextToken() != null) {
                throw new SafetensorsException(where + ": header has content after its JSON object;"
                        + " only space padding may follow it");
            }
        } catch (JacksonException e) {
            throw new SafetensorsException(where + ": header is not valid JSON: " + e.getOriginalMessage()
                    + " (the file is corrupt or not safetensors)", e);
        } catch (IOException e) { // a String source does no I/O; keep the contract anyway
            throw new SafetensorsException(where + ": cannot parse header: " + e, e);
        }

        // Sort by data offset: the order on disk, and what the overlap check needs.
        Integer[] order = new Integer[tensors.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.<Integer>comparingLong(i -> ranges.get(i)[0])
                .thenComparingLong(i -> ranges.get(i)[1]));
        List<CheckpointTensor> sorted = new ArrayList<>(order.length);
        CheckpointTensor prev = null;
        long prevEnd = 0;
        for (int i : order) {
            long[] r = ranges.get(i);
            CheckpointTensor cur = tensors.get(i);
            if (r[0] < r[1]) { // empty tensors occupy no bytes and cannot overlap anything
                if (prev != null && r[0] < prevEnd) {
                    throw new SafetensorsException(where + ": tensor " + cur.name() + " (bytes [" + r[0] + ", "
                            + r[1] + ")) overlaps tensor " + prev.name() + " (bytes ending at " + prevEnd
                            + "); the file is corrupt");
                }
                prev = cur;
                prevEnd = r[1];
            }
            sorted.add(cur);
        }
        return new Header(Collections.unmodifiableList(sorted), metadata);
    }

    private static Map<String, String> parseMetadata(JsonNode value, String where) {
        if (value.isNull()) {
            return Map.of();
        }
        if (!value.isObject()) {
            throw new SafetensorsException(where + ": __metadata__ is " + kind(value)
                    + ", expected an object of string values");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : value.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(where + ": __metadata__." + e.getKey() + " is "
                        + kind(e.getValue()) + ", expected a string (safetensors metadata is string → string)");
            }
            m.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(m);
    }

    private static CheckpointTensor parseEntry(String name, JsonNode v, long[] range, MemorySegment file,
                                               long dataStart, long dataSize, Path path) {
        String at = path + ": tensor " + name;
        if (!v.isObject()) {
            throw new SafetensorsException(at + ": entry is " + kind(v)
                    + ", expected an object {\"dtype\", \"shape\", \"data_offsets\"}");
        }
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            String f = e.getKey();
            if (!f.equals("dtype") && !f.equals("shape") && !f.equals("data_offsets")) {
                throw new SafetensorsException(at + ": unexpected field \"" + f
                        + "\"; an entry has exactly dtype, shape and data_offsets");
            }
        }
        JsonNode dt = v.get("dtype");
        JsonNode sh = v.get("shape");
        JsonNode off = v.get("data_offsets");
        if (dt == null || sh == null || off == null) {
            throw new SafetensorsException(at + ": entry lacks "
                    + (dt == null ? "dtype" : sh == null ? "shape" : "data_offsets")
                    + "; an entry has exactly dtype, shape and data_offsets");
        }
        if (!dt.isTextual()) {
            throw new SafetensorsException(at + ": dtype is " + kind(dt) + ", expected a string such as \"BF16\"");
        }
        DType dtype = dtype(dt.textValue(), at);

        if (!sh.isArray()) {
            throw new SafetensorsException(at + ": shape is " + kind(sh) + ", expected an array of integers");
        }
        long[] shape = new long[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = nonNegativeLong(sh.get(i), at + ": shape[" + i + "]");
            shape[i] = d;
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException e) {
                throw new SafetensorsException(at + ": shape " + sh + " has more elements than fit in a long");
            }
        }

        if (!off.isArray() || off.size() != 2) {
            throw new SafetensorsException(at + ": data_offsets is " + (off.isArray() ? "an array of "
                    + off.size() + " values" : kind(off)) + ", expected [begin, end]");
        }
        long begin = nonNegativeLong(off.get(0), at + ": data_offsets[0]");
        long end = nonNegativeLong(off.get(1), at + ": data_offsets[1]");
        if (begin > end) {
            throw new SafetensorsException(at + ": data_offsets [" + begin + ", " + end + "] has begin > end");
        }
        if (end > dataSize) {
            throw new SafetensorsException(at + ": data_offsets [" + begin + ", " + end + "] run past the data"
                    + " section (" + dataSize + " bytes); the file is truncated (re-download it)");
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(at + ": shape " + sh + " × " + dtype.byteSize()
                    + " bytes overflows a long");
        }
        if (end - begin != expected) {
            throw new SafetensorsException(at + ": data_offsets [" + begin + ", " + end + "] span "
                    + (end - begin) + " bytes, but " + dtype + " shape " + sh + " needs " + expected);
        }
        range[0] = begin;
        range[1] = end;
        return new CheckpointTensor(name, dtype, shape, file.asSlice(dataStart + begin, end - begin), path);
    }

    private static DType dtype(String s, String at) {
        for (DType t : DType.values()) {
            if (t.safetensorsName().equals(s)) {
                return t;
            }
        }
        String supported = java.util.Arrays.stream(DType.values()).map(DType::safetensorsName)
                .collect(java.util.stream.Collectors.joining(", "));
        if (KNOWN_UNSUPPORTED.contains(s)) {
            throw new SafetensorsException(at + ": dtype " + s + " is not supported by jvllm (it reads "
                    + supported + "); convert the checkpoint, e.g. cast this tensor to float32 or bfloat16");
        }
        throw new SafetensorsException(at + ": unknown dtype \"" + snippet(s) + "\"; expected one of " + supported);
    }

    private static long nonNegativeLong(JsonNode n, String what) {
        if (n == null || !n.isIntegralNumber()) {
            throw new SafetensorsException(what + " is " + kind(n) + ", expected a non-negative integer");
        }
        if (!n.canConvertToLong()) {
            throw new SafetensorsException(what + " is " + n + ", which does not fit in a long");
        }
        long v = n.longValue();
        if (v < 0) {
            throw new SafetensorsException(what + " is " + v + ", expected a non-negative integer");
        }
        return v;
    }

    /** "a string", "an array", ... plus a short rendering of the value, for messages. */
    static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "missing";
        }
        String k = switch (n.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> n.isIntegralNumber() ? "an integer" : "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
        return n.isNull() ? k : k + " " + snippet(n.toString());
    }

    /** At most 60 characters of {@code s}, for messages about arbitrary input. */
    static String snippet(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + header.tensors.size() + " tensors]";
    }
}
