package dev.jvllm.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Which files of a model repository jvllm needs, as vLLM's allow patterns choose them: config.json, the
 * safetensors weights (only the shards the index names, when there is an index, so a repo carrying both
 * sharded and consolidated copies is fetched once), and the tokenizer and generation files when present.
 */
final class ModelFiles {
    static final String CONFIG = "config.json";
    static final String INDEX = "model.safetensors.index.json";
    /** Used when the repository has them; their absence is recorded in .no_exist. */
    static final List<String> OPTIONAL = List.of("generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja");

    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFiles() {
    }

    /**
     * The files to fetch first, given the repository's file list: config.json, the index or else every
     * top-level *.safetensors, and the optional files present. The index's shards come after ({@link #shards}).
     *
     * @throws HubException when the repository has no config.json or no safetensors weights
     */
    static List<String> plan(String repo, String revision, Collection<String> files) {
        if (!files.contains(CONFIG)) {
            throw new HubException("repository " + repo + " (revision " + revision + ") has no config.json: it is "
                    + "not a Hugging Face transformers model; files: " + listing(files));
        }
        List<String> plan = new ArrayList<>(List.of(CONFIG));
        if (files.contains(INDEX)) {
            plan.add(INDEX);
        } else {
            List<String> weights = files.stream().filter(ModelFiles::isTopLevelSafetensors).sorted().toList();
            if (weights.isEmpty()) {
                throw new HubException("repository " + repo + " (revision " + revision + ") has no *.safetensors "
                        + "weights; jvllm loads only safetensors (files: " + listing(files) + ")");
            }
            plan.addAll(weights);
        }
        for (String f : OPTIONAL) {
            if (files.contains(f)) {
                plan.add(f);
            }
        }
        return plan;
    }

    /** The shard files {@code index}'s weight_map names, each of which must be in {@code files} (when given). */
    static List<String> shards(String repo, Path index, Collection<String> files) {
        JsonNode map;
        try {
            map = JSON.readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new HubException(INDEX + " of " + repo + " is not valid JSON (" + index + "): " + e.getMessage(), e);
        }
        if (!map.isObject() || map.isEmpty()) {
            throw new HubException(INDEX + " of " + repo + " has no weight_map (" + index + ")");
        }
        TreeSet<String> shards = new TreeSet<>();
        for (JsonNode f : map) {
            String name = f.asText();
            if (name.isEmpty() || name.startsWith("/") || name.contains("..") || !name.endsWith(".safetensors")) {
                throw new HubException(INDEX + " of " + repo + " names an invalid shard file \"" + name + "\"");
            }
            if (files != null && !files.contains(name)) {
                throw new HubException(INDEX + " of " + repo + " names " + name + ", which the repository does not "
                        + "have");
            }
            shards.add(name);
        }
        return List.copyOf(shards);
    }

    /**
     * What a cached snapshot lacks for loading a model: config.json and the weights (the index's shards
     * when there is an index, else at least one *.safetensors). Empty when the model can load.
     */
    static List<String> missingRequired(String repo, Path snapshot) {
        List<String> missing = new ArrayList<>();
        if (!Files.isRegularFile(snapshot.resolve(CONFIG))) {
            missing.add(CONFIG);
        }
        Path index = snapshot.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            for (String shard : shards(repo, index, null)) {
                if (!Files.isRegularFile(snapshot.resolve(shard))) {
                    missing.add(shard);
                }
            }
        } else if (!hasSafetensors(snapshot)) {
            missing.add("*.safetensors");
        }
        return missing;
    }

    /** Optional files neither in the snapshot nor known to be absent (.no_exist) at that commit. */
    static List<String> unknownOptional(HubCache cache, String commit) {
        Path snapshot = cache.snapshot(commit);
        return OPTIONAL.stream().filter(f -> !Files.isRegularFile(snapshot.resolve(f))
                && !cache.knownMissing(commit, f)).toList();
    }

    private static boolean hasSafetensors(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(p -> isTopLevelSafetensors(p.getFileName().toString()) && Files.isRegularFile(p));
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isTopLevelSafetensors(String path) {
        return path.endsWith(".safetensors") && !path.contains("/");
    }

    private static String listing(Collection<String> files) {
        List<String> sorted = files.stream().sorted().toList();
        return sorted.size() <= 20 ? String.join(", ", sorted)
                : String.join(", ", sorted.subList(0, 20)) + ", ... (" + sorted.size() + " files)";
    }
}
