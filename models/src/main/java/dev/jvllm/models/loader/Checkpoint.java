package dev.jvllm.models.loader;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The safetensors weights of a model directory, memory-mapped read-only, as one name → tensor
 * map.
 *
 * <p>Which files: the first that applies of
 * <ol>
 *   <li>{@code model.safetensors} (a single-file checkpoint; what transformers checks first);</li>
 *   <li>{@code model.safetensors.index.json}: the shards its {@code weight_map} names. Every
 *       shard must exist and hold every tensor the index assigns to it. A shard's tensors that
 *       the index omits are still loaded, as transformers does;</li>
 *   <li>every {@code *.safetensors} file in the directory.</li>
 * </ol>
 * {@link #open(Path)} also accepts the path of one {@code .safetensors} file.
 *
 * <p>Order: files by file name ({@code model-00001-of-00004} first), tensors within a file by
 * data offset, so iterating walks each mapping front to back. A name present in two files is
 * an error naming both. All mappings share one arena, released by {@link #close()}; tensors
 * read after that throw {@link IllegalStateException}. A Checkpoint is immutable and may be
 * read from several threads.
 */
public final class Checkpoint implements Iterable<CheckpointTensor>, AutoCloseable {

    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    private final Path source;
    private final Arena arena;
    private final List<Path> files;
    private final Map<String, CheckpointTensor> tensors; // insertion order = iteration order

    private Checkpoint(Path source, Arena arena, List<Path> files, Map<String, CheckpointTensor> tensors) {
        this.source = source;
        this.arena = arena;
        this.files = List.copyOf(files);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Opens the checkpoint in {@code dirOrFile} (a model directory, or one .safetensors file).
     *
     * @throws SafetensorsException if no weights are found, a file is malformed, the index and
     *                              the shards disagree, or a name appears twice
     * @throws IOException          if a file cannot be read
     */
    public static Checkpoint open(Path dirOrFile) throws IOException {
        List<Path> files;
        Map<String, Path> indexMap = null; // tensor → shard, when opened through an index
        if (Files.isRegularFile(dirOrFile)) {
            files = List.of(dirOrFile);
        } else if (!Files.isDirectory(dirOrFile)) {
            throw new java.nio.file.NoSuchFileException(dirOrFile.toString(), null,
                    "no such checkpoint directory or .safetensors file");
        } else if (Files.isRegularFile(dirOrFile.resolve(SINGLE))) {
            files = List.of(dirOrFile.resolve(SINGLE));
        } else if (Files.isRegularFile(dirOrFile.resolve(INDEX))) {
            indexMap = readIndex(dirOrFile);
            files = List.copyOf(new TreeSet<>(indexMap.values()));
        } else {
            files = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dirOrFile, "*.safetensors")) {
                for (Path p : ds) {
                    if (Files.isRegularFile(p)) {
                        files.add(p);
                    }
                }
            }
            files.sort(Comparator.comparing(p -> p.getFileName().toString()));
            if (files.isEmpty()) {
                throw new SafetensorsException(dirOrFile + ": no safetensors weights found; expected "
                        + SINGLE + ", " + INDEX + " with its shards, or *.safetensors files"
                        + " (is the download complete? .bin/.pt checkpoints must be converted to safetensors)");
            }
        }

        Arena arena = Arena.ofShared();
        try {
            Map<String, CheckpointTensor> all = new LinkedHashMap<>();
            for (Path f : files) {
                SafetensorsFile sf = SafetensorsFile.open(f, arena, false);
                for (CheckpointTensor t : sf.tensors()) {
                    CheckpointTensor prev = all.putIfAbsent(t.name(), t);
                    if (prev != null) {
                        throw new SafetensorsException("tensor " + t.name() + " is in both " + prev.file()
                                + " and " + f + "; remove the stale file from " + dirOrFile);
                    }
                }
            }
            if (indexMap != null) {
                checkIndex(dirOrFile, indexMap, all);
            }
            return new Checkpoint(dirOrFile, arena, files, all);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Reads weight_map: tensor name → shard path (resolved, checked to exist). */
    private static Map<String, Path> readIndex(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (JacksonException e) {
            throw new SafetensorsException(index + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw new SafetensorsException(index + ": weight_map is " + SafetensorsFile.kind(wm)
                    + ", expected an object {tensor name: shard file name}");
        }
        Map<String, Path> map = new TreeMap<>();
        Path base = dir.toAbsolutePath().normalize();
        for (Map.Entry<String, JsonNode> e : wm.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw new SafetensorsException(index + ": weight_map[\"" + e.getKey() + "\"] is "
                        + SafetensorsFile.kind(v) + ", expected a shard file name");
            }
            Path shard = dir.resolve(v.textValue());
            if (!shard.toAbsolutePath().normalize().startsWith(base)) {
                throw new SafetensorsException(index + ": weight_map[\"" + e.getKey() + "\"] names shard \""
                        + v.textValue() + "\", which lies outside " + dir + "; shards must be in the model directory");
            }
            if (!Files.isRegularFile(shard)) {
                throw new SafetensorsException(index + " maps tensor " + e.getKey() + " to shard " + shard
                        + ", which does not exist; the download is incomplete (fetch the missing shard)");
            }
            map.put(e.getKey(), shard);
        }
        if (map.isEmpty()) {
            throw new SafetensorsException(index + ": weight_map is empty; expected {tensor name: shard file name}");
        }
        return map;
    }

    private static void checkIndex(Path dir, Map<String, Path> indexMap, Map<String, CheckpointTensor> all) {
        for (Map.Entry<String, Path> e : indexMap.entrySet()) {
            CheckpointTensor t = all.get(e.getKey());
            if (t == null) {
                throw new SafetensorsException(dir.resolve(INDEX) + " maps tensor " + e.getKey() + " to shard "
                        + e.getValue() + ", but that shard does not contain it; the index and the shards are"
                        + " from different versions (re-download both)");
            }
            if (!t.file().equals(e.getValue())) {
                throw new SafetensorsException(dir.resolve(INDEX) + " maps tensor " + e.getKey() + " to shard "
                        + e.getValue() + ", but it is in " + t.file() + "; the index is stale (re-download it)");
            }
        }
    }

    /** The directory (or file) this was opened from. */
    public Path source() {
        return source;
    }

    /** The safetensors files read, in iteration order. */
    public List<Path> files() {
        return files;
    }

    /** All tensor names, in iteration order. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /** Number of tensors. */
    public int size() {
        return tensors.size();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * The tensor called {@code name}.
     *
     * @throws SafetensorsException if there is none; the message lists the closest names
     */
    public CheckpointTensor get(String name) {
        CheckpointTensor t = tensors.get(name);
        if (t == null) {
            throw new SafetensorsException("checkpoint " + source + " has no tensor " + name
                    + "; closest names: " + nearest(name, tensors.keySet(), 5) + " (" + tensors.size()
                    + " tensors in all)");
        }
        return t;
    }

    /** All tensors in a stable order: files by name, then data offset. */
    @Override
    public Iterator<CheckpointTensor> iterator() {
        return tensors.values().iterator();
    }

    /** Unmaps every file. Tensors handed out before stay valid objects but throw when read. */
    @Override
    public void close() {
        arena.close();
    }

    /** The {@code k} names closest to {@code name} by edit distance, ties by name order. */
    static List<String> nearest(String name, Iterable<String> names, int k) {
        record Scored(int d, String s) {
        }
        List<Scored> scored = new ArrayList<>();
        for (String s : names) {
            scored.add(new Scored(editDistance(name, s), s));
        }
        scored.sort(Comparator.comparingInt(Scored::d).thenComparing(Scored::s));
        List<String> out = new ArrayList<>();
        for (int i = 0; i < Math.min(k, scored.size()); i++) {
            out.add(scored.get(i).s());
        }
        return out;
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    @Override
    public String toString() {
        return "Checkpoint[" + source + ", " + files.size() + " files, " + tensors.size() + " tensors]";
    }
}
