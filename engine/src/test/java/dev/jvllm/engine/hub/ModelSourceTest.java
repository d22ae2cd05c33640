package dev.jvllm.engine.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Downloads from a local hub ({@link FakeHub}) into the huggingface_hub cache layout: what is fetched,
 * the layout written, cache hits without requests, resume, offline mode, tokens, revisions, and errors.
 */
class ModelSourceTest {
    private static final String REPO = "org/tiny";
    private static final String MAIN = "b".repeat(40);
    private static final String OLD = "a".repeat(40);

    @TempDir
    Path tmp;
    FakeHub hub;
    ByteArrayOutputStream log;
    byte[] weights;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        log = new ByteArrayOutputStream();
        weights = new byte[300_000];
        new Random(7).nextBytes(weights);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("config.json", text("{\"model_type\": \"llama\", \"v\": 2}"));
        files.put("model.safetensors", weights);
        files.put("tokenizer.json", text("{\"model\": {}}"));
        files.put("tokenizer_config.json", text("{\"chat_template\": \"x\"}"));
        files.put("generation_config.json", text("{}"));
        files.put("README.md", text("# tiny"));
        files.put("pytorch_model.bin", new byte[10]);
        files.put("original/consolidated.safetensors", new byte[10]);
        hub.repos.put(REPO, new FakeHub.Repo()
                .commit(OLD, Map.of("config.json", text("{\"v\": 1}"), "model.safetensors", new byte[] {1, 2, 3}),
                        "v1.0")
                .commit(MAIN, files, "main"));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private HubSettings settings(String token, boolean offline) {
        return new HubSettings(hub.endpoint(), tmp.resolve("hub"), token, offline, Duration.ofSeconds(5));
    }

    private Path resolve(String repo, String revision, HubSettings settings) {
        return ModelSource.resolve(repo, revision, settings, new PrintStream(log, true, StandardCharsets.UTF_8));
    }

    private Path repoDir() {
        return tmp.resolve("hub/models--org--tiny");
    }

    @Test
    void downloadsWhatAModelNeedsIntoTheHuggingFaceLayout() throws IOException {
        Path dir = resolve(REPO, null, settings(null, false));
        assertEquals(repoDir().resolve("snapshots").resolve(MAIN), dir);
        assertEquals(MAIN, Files.readString(repoDir().resolve("refs/main"))); // no newline, as huggingface_hub
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals("{}", Files.readString(dir.resolve("generation_config.json")));
        // relative symlinks into blobs/ named by ETag: sha256 for LFS files, git blob sha1 for the others
        assertEquals(Path.of("../../blobs/" + FakeHub.sha256(weights)), Files.readSymbolicLink(dir.resolve("model.safetensors")));
        assertEquals(Path.of("../../blobs/" + FakeHub.gitSha1(text("{}"))),
                Files.readSymbolicLink(dir.resolve("generation_config.json")));
        // only what a model needs
        for (String skipped : List.of("README.md", "pytorch_model.bin", "original")) {
            assertFalse(Files.exists(dir.resolve(skipped)), skipped);
        }
        assertTrue(hub.requests("/org/tiny/resolve/" + MAIN + "/README.md").isEmpty());
        // wanted files the repository lacks are recorded as absent, as huggingface_hub's .no_exist
        assertTrue(Files.exists(repoDir().resolve(".no_exist").resolve(MAIN).resolve("special_tokens_map.json")));
        assertTrue(Files.exists(repoDir().resolve(".no_exist").resolve(MAIN).resolve("chat_template.jinja")));
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("model.safetensors"), log.toString());
    }

    @Test
    void aSecondRunUsesTheCacheWithoutAnyRequest() {
        Path first = resolve(REPO, null, settings(null, false));
        hub.requests.clear();
        assertEquals(first, resolve(REPO, "main", settings(null, false)));
        assertEquals(List.of(), hub.requests);
    }

    @Test
    void resumesATransferTheServerCutMidFile() throws IOException {
        hub.cuts.add(100_000);
        Path dir = resolve(REPO, null, settings(null, false));
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        List<FakeHub.Request> cdn = hub.requests("/cdn/");
        assertEquals(2, cdn.size());
        assertEquals("bytes=100000-", cdn.get(1).range());
    }

    @Test
    void anInterruptedDownloadIsResumedByTheNextRun() throws IOException {
        hub.cuts.addAll(List.of(120_000, 0, 0, 0, 0)); // progress once, then a dead connection
        HubException e = assertThrows(HubException.class, () -> resolve(REPO, null, settings(null, false)));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains(REPO)
                && e.getMessage().contains("interrupted at 120000 of 300000 bytes")
                && e.getMessage().contains("run again to resume"), e.getMessage());
        Path partial = repoDir().resolve("blobs/" + FakeHub.sha256(weights) + ".incomplete");
        assertEquals(120_000, Files.size(partial));
        hub.requests.clear();
        Path dir = resolve(REPO, null, settings(null, false));
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals("bytes=120000-", hub.requests("/cdn/").getFirst().range());
        assertFalse(Files.exists(partial));
    }

    @Test
    void aCorruptTransferIsRejectedAndDeleted() {
        byte[] bad = weights.clone();
        bad[1234] ^= 1;
        hub.corrupt.put(FakeHub.sha256(weights), bad);
        HubException e = assertThrows(HubException.class, () -> resolve(REPO, null, settings(null, false)));
        assertTrue(e.getMessage().contains("corrupt") && e.getMessage().contains("model.safetensors"), e.getMessage());
        assertFalse(Files.exists(repoDir().resolve("blobs/" + FakeHub.sha256(weights) + ".incomplete")));
        assertFalse(Files.exists(repoDir().resolve("blobs/" + FakeHub.sha256(weights))));
    }

    @Test
    void offlineUsesOnlyTheCache() {
        HubException e = assertThrows(HubException.class, () -> resolve(REPO, null, settings(null, true)));
        assertTrue(e.getMessage().contains(REPO) && e.getMessage().contains("HF_HUB_OFFLINE")
                && e.getMessage().contains("revision main"), e.getMessage());
        Path dir = resolve(REPO, null, settings(null, false));
        hub.requests.clear();
        assertEquals(dir, resolve(REPO, null, settings(null, true)));
        assertEquals(List.of(), hub.requests);
    }

    @Test
    void offlineNamesWhatTheCachedSnapshotLacks() throws IOException {
        Path dir = resolve(REPO, null, settings(null, false));
        Files.delete(dir.resolve("model.safetensors"));
        HubException e = assertThrows(HubException.class, () -> resolve(REPO, null, settings(null, true)));
        assertTrue(e.getMessage().contains("lacks *.safetensors") && e.getMessage().contains(MAIN), e.getMessage());
        // online, the missing file is fetched again (its blob is still there: no transfer)
        hub.requests.clear();
        assertEquals(dir, resolve(REPO, null, settings(null, false)));
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
        assertTrue(hub.requests("/cdn/").isEmpty());
    }

    @Test
    void sendsTheTokenToTheHubButNotToTheCdn() {
        hub.repos.get(REPO).gated = true;
        HubException e = assertThrows(HubException.class, () -> resolve(REPO, null, settings(null, false)));
        assertTrue(e.getMessage().contains("gated") && e.getMessage().contains("HF_TOKEN")
                && e.getMessage().contains(REPO), e.getMessage());
        hub.requests.clear();
        resolve(REPO, null, settings(FakeHub.TOKEN, false));
        for (FakeHub.Request r : hub.requests) {
            boolean cdn = r.path().startsWith("/cdn/");
            assertEquals(cdn ? null : "Bearer " + FakeHub.TOKEN, r.authorization(), r.toString());
        }
        assertFalse(hub.requests("/cdn/").isEmpty());
    }

    @Test
    void pinsRevisions() throws IOException {
        Path old = resolve(REPO, OLD, settings(null, false));
        assertEquals(repoDir().resolve("snapshots").resolve(OLD), old);
        assertEquals("{\"v\": 1}", Files.readString(old.resolve("config.json")));
        assertFalse(Files.exists(repoDir().resolve("refs").resolve(OLD))); // a commit needs no ref
        assertEquals(old, resolve(REPO, "v1.0", settings(null, false)));
        assertEquals(OLD, Files.readString(repoDir().resolve("refs/v1.0")));
        Path main = resolve(REPO, "main", settings(null, false));
        assertEquals("{\"model_type\": \"llama\", \"v\": 2}", Files.readString(main.resolve("config.json")));
        HubException e = assertThrows(HubException.class, () -> resolve(REPO, "nope", settings(null, false)));
        assertTrue(e.getMessage().contains("revision nope not found") && e.getMessage().contains(REPO), e.getMessage());
    }

    @Test
    void readsACacheWrittenByHuggingFaceHub() throws IOException {
        // the layout huggingface_hub writes (file_download.py), built by hand
        Path repo = repoDir();
        Map<String, byte[]> files = Map.of("config.json", text("{\"from\": \"python\"}"), "model.safetensors", weights,
                "tokenizer.json", text("{}"), "tokenizer_config.json", text("{}"), "generation_config.json", text("{}"));
        Files.createDirectories(repo.resolve("blobs"));
        Files.createDirectories(repo.resolve("snapshots").resolve(MAIN));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            String etag = FakeHub.isLfs(f.getKey()) ? FakeHub.sha256(f.getValue()) : FakeHub.gitSha1(f.getValue());
            Files.write(repo.resolve("blobs").resolve(etag), f.getValue());
            Files.createSymbolicLink(repo.resolve("snapshots").resolve(MAIN).resolve(f.getKey()),
                    Path.of("../../blobs").resolve(etag));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), MAIN);
        Files.createDirectories(repo.resolve(".no_exist").resolve(MAIN));
        Files.createFile(repo.resolve(".no_exist").resolve(MAIN).resolve("special_tokens_map.json"));
        Files.createFile(repo.resolve(".no_exist").resolve(MAIN).resolve("chat_template.jinja"));

        Path dir = resolve(REPO, null, settings(null, false));
        assertEquals(repo.resolve("snapshots").resolve(MAIN), dir);
        assertEquals("{\"from\": \"python\"}", Files.readString(dir.resolve("config.json")));
        assertEquals(List.of(), hub.requests);
    }

    @Test
    void completesACacheThatLacksTokenizerFiles() throws IOException {
        Path dir = resolve(REPO, null, settings(null, false));
        // as if Python had fetched only the model (AutoModel, not AutoTokenizer)
        Files.delete(dir.resolve("tokenizer.json"));
        hub.requests.clear();
        assertEquals(dir, resolve(REPO, null, settings(null, false)));
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")));
        assertEquals(1, hub.requests("/org/tiny/resolve/").size(), hub.requests.toString());
    }

    @Test
    void shardedWeightsComeFromTheIndexOnly() throws IOException {
        byte[] s1 = {1, 2, 3};
        byte[] s2 = {4, 5};
        hub.repos.put("org/sharded", new FakeHub.Repo().commit("c".repeat(40), Map.of(
                "config.json", text("{}"),
                "model.safetensors.index.json", text("{\"metadata\": {}, \"weight_map\": {\"a\": "
                        + "\"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\", "
                        + "\"c\": \"model-00001-of-00002.safetensors\"}}"),
                "model-00001-of-00002.safetensors", s1,
                "model-00002-of-00002.safetensors", s2,
                "consolidated.safetensors", new byte[] {9},
                "tokenizer_config.json", new byte[0]), "main"));
        Path dir = resolve("org/sharded", null, settings(null, false));
        assertEquals(0, Files.size(dir.resolve("tokenizer_config.json"))); // an empty file is a file too
        assertArrayEquals(s1, Files.readAllBytes(dir.resolve("model-00001-of-00002.safetensors")));
        assertArrayEquals(s2, Files.readAllBytes(dir.resolve("model-00002-of-00002.safetensors")));
        assertFalse(Files.exists(dir.resolve("consolidated.safetensors")));
    }

    @Test
    void followsARenamedRepository() throws IOException {
        hub.renamed.put("old-org/tiny", REPO);
        Path dir = resolve("old-org/tiny", null, settings(null, false));
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertTrue(dir.startsWith(tmp.resolve("hub/models--old-org--tiny")), dir.toString());
    }

    @Test
    void clearErrors() {
        HubException notFound = assertThrows(HubException.class, () -> resolve("org/missing", null, settings(null, false)));
        assertTrue(notFound.getMessage().contains("repository org/missing not found")
                && notFound.getMessage().contains("HF_TOKEN")
                && notFound.getMessage().contains("no local directory org/missing"), notFound.getMessage());

        hub.repos.put("org/bin", new FakeHub.Repo().commit("d".repeat(40),
                Map.of("config.json", text("{}"), "pytorch_model.bin", new byte[4]), "main"));
        HubException noWeights = assertThrows(HubException.class, () -> resolve("org/bin", null, settings(null, false)));
        assertTrue(noWeights.getMessage().contains("org/bin") && noWeights.getMessage().contains("no *.safetensors")
                && noWeights.getMessage().contains("pytorch_model.bin"), noWeights.getMessage());

        hub.repos.put("org/data", new FakeHub.Repo().commit("e".repeat(40), Map.of("data.csv", new byte[1]), "main"));
        HubException noConfig = assertThrows(HubException.class, () -> resolve("org/data", null, settings(null, false)));
        assertTrue(noConfig.getMessage().contains("org/data (revision main) has no config.json"), noConfig.getMessage());

        IllegalArgumentException notAnId = assertThrows(IllegalArgumentException.class,
                () -> resolve("./no/such/dir", null, settings(null, false)));
        assertTrue(notAnId.getMessage().contains("./no/such/dir"), notAnId.getMessage());

        assertThrows(IllegalArgumentException.class, () -> resolve(REPO, "../../etc", settings(null, false)));

        HubSettings down = new HubSettings("http://127.0.0.1:1", tmp.resolve("hub"), null, false, Duration.ofSeconds(1));
        HubException unreachable = assertThrows(HubException.class, () -> resolve(REPO, null, down));
        assertTrue(unreachable.getMessage().contains("cannot reach http://127.0.0.1:1"), unreachable.getMessage());
    }

    @Test
    void aDownloadedSnapshotLoadsAndGeneratesAsTheDirectoryItCameFrom() throws IOException {
        Path fixture = Path.of("../models/src/test/resources/fixtures/llama");
        hub.repos.put("org/llama", new FakeHub.Repo().commit("f".repeat(40), Map.of(
                "config.json", Files.readAllBytes(fixture.resolve("config.json")),
                "model.safetensors", Files.readAllBytes(fixture.resolve("model.safetensors"))), "main"));
        Path dir = resolve("org/llama", null, settings(null, false));
        assertTrue(Files.isSymbolicLink(dir.resolve("model.safetensors")));
        String[] args = {"--prompt-token-ids", "5,17,3", "--max-tokens", "4", "--temperature", "0", "--json"};
        assertEquals(generate(fixture, args), generate(dir, args));
    }

    private static String generate(Path model, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<String> all = new java.util.ArrayList<>(List.of("generate", "--model", model.toString()));
        all.addAll(List.of(args));
        int code = dev.jvllm.engine.cli.Main.run(all, new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertEquals(0, code);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aLocalDirectoryIsUsedAsItIs() throws IOException {
        Path local = Files.createDirectories(tmp.resolve("org/tiny"));
        assertEquals(local, ModelSource.resolve(local.toString(), null, settings(null, false), System.err));
        assertEquals(List.of(), hub.requests);
    }

    @Test
    void hubIds() {
        for (String ok : List.of("gpt2", "org/name", "Qwen/Qwen2.5-0.5B-Instruct", "a_b/c.d-e")) {
            assertTrue(ModelSource.isHubId(ok), ok);
        }
        for (String bad : List.of("", "/abs/path", "a/b/c", "./x", "a--b/c", "a/..", "-a/b", "a/b.", "~/m", "a b/c")) {
            assertFalse(ModelSource.isHubId(bad), bad);
        }
    }
}
