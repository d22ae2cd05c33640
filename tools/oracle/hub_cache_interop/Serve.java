package dev.jvllm.engine.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * The Java half of run.sh: serves org/tiny from the test FakeHub, fills the cache ARGS[1] with jvllm and
 * writes the hub's endpoint to ARGS[0], then reads the cache ARGS[2] (filled by Python, when given) with jvllm,
 * offline and online, printing the requests the online pass made.
 */
public final class Serve {
    public static void main(String[] args) throws Exception {
        try (FakeHub hub = new FakeHub()) {
            byte[] weights = new byte[300_000];
            new Random(7).nextBytes(weights);
            Map<String, byte[]> files = new LinkedHashMap<>();
            files.put("config.json", "{\"model_type\": \"llama\"}".getBytes());
            files.put("model.safetensors", weights);
            files.put("tokenizer.json", "{}".getBytes());
            files.put("tokenizer_config.json", "{}".getBytes());
            files.put("generation_config.json", "{}".getBytes());
            hub.repos.put("org/tiny", new FakeHub.Repo().commit("b".repeat(40), files, "main"));
            System.out.println("jvllm filled: " + ModelSource.resolve("org/tiny", null, settings(hub, args[1], false),
                    System.err));
            Files.writeString(Path.of(args[0]), hub.endpoint()); // run.sh starts Python once this exists
            if (args.length > 2) {
                System.out.println("jvllm reads Python's cache offline: " + ModelSource.resolve("org/tiny", null,
                        settings(hub, args[2], true), System.err));
                hub.requests.clear();
                System.out.println("jvllm reads Python's cache online: " + ModelSource.resolve("org/tiny", null,
                        settings(hub, args[2], false), System.err) + ", requests " + hub.requests);
            }
            Thread.sleep(Long.getLong("serve.ms", 0));
        }
    }

    private static HubSettings settings(FakeHub hub, String cache, boolean offline) {
        return new HubSettings(hub.endpoint(), Path.of(cache), null, offline, Duration.ofSeconds(5));
    }
}
