package dev.jvllm.models.loader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Opening model directories: single file, sharded index, glob fallback, and their errors. */
class CheckpointTest {

    @TempDir
    Path dir;

    private static void write(Path file, String... names) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        for (int i = 0; i < names.length; i++) {
            w.add(names[i], new long[] {2}, new float[] {i, names[i].length()});
        }
        w.write(file);
    }

    private void index(String json) throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX), json);
    }

    private static void assertMessage(Throwable e, String... fragments) {
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should contain \"" + f + "\": " + e.getMessage());
        }
    }

    @Test
    void singleFile() throws IOException {
        write(dir.resolve("model.safetensors"), "lm_head.weight", "model.embed_tokens.weight");
        write(dir.resolve("stale-extra.safetensors"), "lm_head.weight"); // ignored: model.safetensors wins
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of(dir.resolve("model.safetensors")), c.files());
            assertEquals(2, c.size());
            assertTrue(c.contains("lm_head.weight"));
            assertArrayEquals(new float[] {1, 25}, c.get("model.embed_tokens.weight").toFloatArray());
            assertMessage(assertThrows(SafetensorsException.class, () -> c.get("lm_head.weight").toIntArray()),
                    "lm_head.weight", "not I32");
        }
    }

    @Test
    void shardedThroughTheIndex() throws IOException {
        write(dir.resolve("model-00002-of-00002.safetensors"), "model.norm.weight", "lm_head.weight");
        write(dir.resolve("model-00001-of-00002.safetensors"), "model.embed_tokens.weight", "model.layers.0.w");
        write(dir.resolve("unrelated.safetensors"), "consolidated.weight"); // not in the index: not opened
        index("""
                {"metadata": {"total_size": 32},
                 "weight_map": {
                   "lm_head.weight": "model-00002-of-00002.safetensors",
                   "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                   "model.layers.0.w": "model-00001-of-00002.safetensors",
                   "model.norm.weight": "model-00002-of-00002.safetensors"}}
                """);
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of(dir.resolve("model-00001-of-00002.safetensors"),
                    dir.resolve("model-00002-of-00002.safetensors")), c.files());
            // files by name; within a file, data-offset order (the writer sorts by name)
            assertEquals(List.of("model.embed_tokens.weight", "model.layers.0.w", "lm_head.weight", "model.norm.weight"),
                    c.names());
            List<String> iterated = new ArrayList<>();
            c.forEach(t -> iterated.add(t.name()));
            assertEquals(c.names(), iterated);
            assertFalse(c.contains("consolidated.weight"));
            assertEquals(dir.resolve("model-00002-of-00002.safetensors"), c.get("lm_head.weight").file());
        }
    }

    @Test
    void indexNamingAMissingShard() throws IOException {
        write(dir.resolve("model-00001-of-00002.safetensors"), "a");
        index("{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\"}}");
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir));
        assertMessage(e, Checkpoint.INDEX, "tensor b", "model-00002-of-00002.safetensors", "does not exist");
    }

    @Test
    void indexNamingATensorTheShardLacks() throws IOException {
        write(dir.resolve("s1.safetensors"), "a");
        index("{\"weight_map\": {\"a\": \"s1.safetensors\", \"ghost\": \"s1.safetensors\"}}");
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir));
        assertMessage(e, Checkpoint.INDEX, "tensor ghost", "s1.safetensors", "does not contain");
    }

    @Test
    void indexPointingAtTheWrongShard() throws IOException {
        write(dir.resolve("s1.safetensors"), "a");
        write(dir.resolve("s2.safetensors"), "b");
        index("{\"weight_map\": {\"a\": \"s2.safetensors\", \"b\": \"s1.safetensors\"}}");
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir));
        assertMessage(e, Checkpoint.INDEX, "s1.safetensors", "s2.safetensors", "stale");
    }

    @Test
    void malformedIndexes() throws IOException {
        write(dir.resolve("s1.safetensors"), "a");
        index("{\"weight_map\": [");
        assertMessage(assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir)), Checkpoint.INDEX, "JSON");
        index("{\"metadata\": {}}");
        assertMessage(assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir)), "weight_map", "missing");
        index("{\"weight_map\": {\"a\": 3}}");
        assertMessage(assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir)), "weight_map[\"a\"]", "integer");
        index("{\"weight_map\": {\"a\": \"../s1.safetensors\"}}");
        assertMessage(assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir)), "outside");
    }

    @Test
    void everySafetensorsFileWhenThereIsNoIndex() throws IOException {
        write(dir.resolve("b.safetensors"), "y");
        write(dir.resolve("a.safetensors"), "x");
        Files.writeString(dir.resolve("notes.txt"), "not weights");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of("x", "y"), c.names());
        }
    }

    @Test
    void aNameInTwoFilesNamesBoth() throws IOException {
        write(dir.resolve("a.safetensors"), "w");
        write(dir.resolve("b.safetensors"), "w");
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir));
        assertMessage(e, "tensor w", "a.safetensors", "b.safetensors");
    }

    @Test
    void emptyOrMissingDirectory() throws IOException {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir));
        assertMessage(e, dir.toString(), "no safetensors weights", Checkpoint.INDEX);
        assertThrows(java.nio.file.NoSuchFileException.class, () -> Checkpoint.open(dir.resolve("nope")));
    }

    @Test
    void aMalformedShardNamesItsFile() throws IOException {
        Files.write(dir.resolve("model.safetensors"), new byte[] {1, 0, 0});
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir));
        assertMessage(e, dir.resolve("model.safetensors").toString());
    }

    @Test
    void missListsTheNearestNames() throws IOException {
        write(dir.resolve("model.safetensors"), "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
                "model.layers.1.mlp.up_proj.weight", "model.norm.weight", "lm_head.weight", "model.embed_tokens.weight",
                "model.layers.0.self_attn.q_proj.weight");
        try (Checkpoint c = Checkpoint.open(dir)) {
            SafetensorsException e = assertThrows(SafetensorsException.class,
                    () -> c.get("model.layers.0.mlp.gate_proj.weight"));
            assertMessage(e, "no tensor model.layers.0.mlp.gate_proj.weight", dir.toString(),
                    "model.layers.0.mlp.up_proj.weight", "7 tensors");
            assertFalse(e.getMessage().contains("lm_head.weight"), e.getMessage()); // only the 5 nearest
        }
    }

    @Test
    void closeReleasesTheMappings() throws IOException {
        write(dir.resolve("model.safetensors"), "w");
        Checkpoint c = Checkpoint.open(dir);
        CheckpointTensor t = c.get("w");
        c.close();
        assertThrows(IllegalStateException.class, t::toFloatArray);
    }

    @Test
    void tensorRecordDefendsItsShape() throws IOException {
        write(dir.resolve("model.safetensors"), "w");
        try (Checkpoint c = Checkpoint.open(dir)) {
            CheckpointTensor t = c.get("w");
            t.shape()[0] = 99;
            assertArrayEquals(new long[] {2}, t.shape());
            assertArrayEquals(new int[] {2}, t.intShape());
            assertEquals("[2]", t.shapeString());
        }
    }
}
