package dev.jvllm.engine.hub;

import dev.jvllm.engine.hub.HubClient.FileMeta;
import dev.jvllm.engine.hub.HubClient.RepoInfo;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Turns what a user passes as {@code --model} into a local model directory: an existing directory is
 * used as it is; a Hugging Face hub id ({@code org/name}) is looked up in the hub cache and downloaded
 * into it when missing (see {@link HubSettings} for the environment it honours, {@link HubCache} for the
 * layout it shares with huggingface_hub).
 *
 * <p>Only what a model needs is fetched: config.json, the safetensors weights (the index's shards when the
 * repository has an index), generation_config.json and the tokenizer files. Files the repository lacks
 * are recorded as absent, so a model once complete in the cache is used without contacting the hub — a
 * branch such as {@code main} is not re-checked for newer commits; pass {@code --revision} with a commit or
 * tag to move, or delete {@code refs/main} in the cache. With {@code HF_HUB_OFFLINE=1} nothing is fetched.
 *
 * <pre>{@code
 * Path dir = ModelSource.resolve("Qwen/Qwen2.5-0.5B-Instruct");   // environment settings, revision main
 * }</pre>
 */
public final class ModelSource {
    public static final String DEFAULT_REVISION = "main";

    /** huggingface_hub's repo id rule: [namespace/]name of word characters, '-' and '.', at most 96 per part. */
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_.-]{1,96}");

    private ModelSource() {
    }

    /** {@link #resolve(String, String, HubSettings, PrintStream)} with this process's environment, revision main. */
    public static Path resolve(String model) {
        return resolve(model, null, HubSettings.fromEnvironment(), System.err);
    }

    /**
     * The local directory of {@code model}.
     *
     * @param model    a directory, or a hub id such as {@code meta-llama/Llama-3.2-1B-Instruct}
     * @param revision a branch, tag or commit of the hub repository; null for {@value #DEFAULT_REVISION}
     * @param progress where download progress goes (stderr for the CLI)
     * @throws IllegalArgumentException when {@code model} is neither an existing directory nor a hub id
     * @throws HubException             when the model is not in the cache and cannot be downloaded: the
     *                                  message names the repository, revision or file, and the fix
     */
    public static Path resolve(String model, String revision, HubSettings settings, PrintStream progress) {
        if (isDirectory(model)) {
            return Path.of(model);
        }
        if (!isHubId(model)) {
            throw new IllegalArgumentException("--model " + model + " is neither a directory (a Hugging Face "
                    + "checkpoint with config.json and *.safetensors) nor a Hugging Face hub id (org/name)");
        }
        String rev = revision == null || revision.isBlank() ? DEFAULT_REVISION : revision.strip();
        if (rev.startsWith("/") || List.of(rev.split("/")).contains("..")) {
            throw new IllegalArgumentException("--revision " + rev + " is not a branch, tag or commit name");
        }
        HubCache cache = new HubCache(settings.cacheDir(), model);
        String cached = cache.commitOf(rev);
        List<String> missing = cached == null ? List.of() : ModelFiles.missingRequired(model, cache.snapshot(cached));
        if (cached != null && missing.isEmpty()
                && (settings.offline() || ModelFiles.unknownOptional(cache, cached).isEmpty())) {
            return cache.snapshot(cached);
        }
        if (settings.offline()) {
            throw new HubException("HF_HUB_OFFLINE is set and " + model + " (revision " + rev + ") is not in the "
                    + "cache " + settings.cacheDir() + ": " + (cached == null
                    ? "no snapshot of that revision (" + HubCache.folderName(model) + "/refs/" + rev + ")"
                    : "snapshot " + cached + " lacks " + String.join(", ", missing))
                    + "; unset HF_HUB_OFFLINE to download it");
        }
        try {
            return download(model, rev, cache, new HubClient(settings), new Progress(progress));
        } catch (HubException e) {
            if (e.getCause() instanceof IOException) { // the hub is unreachable
                if (cached != null && missing.isEmpty()) {
                    progress.println("warning: " + e.getMessage() + "; using the cached snapshot " + cached
                            + " of " + model);
                    return cache.snapshot(cached);
                }
                throw new HubException(e.getMessage() + "; " + model + " (revision " + rev + ") is not complete in the "
                        + "cache " + settings.cacheDir() + ": check the network and HF_ENDPOINT", e);
            }
            throw e;
        } catch (IOException e) {
            throw new HubException("cannot write the model " + model + " into the cache " + settings.cacheDir() + ": "
                    + e, e);
        }
    }

    /** True for {@code org/name} or {@code name} as the hub spells repository ids. */
    public static boolean isHubId(String s) {
        String[] parts = s.split("/", -1);
        if (parts.length > 2 || s.contains("--") || s.contains("..")) {
            return false;
        }
        for (String p : parts) {
            if (!PART.matcher(p).matches() || p.startsWith("-") || p.startsWith(".") || p.endsWith("-")
                    || p.endsWith(".")) {
                return false;
            }
        }
        return true;
    }

    private static Path download(String repo, String rev, HubCache cache, HubClient client, Progress progress)
            throws IOException {
        RepoInfo info;
        try {
            info = client.repoInfo(repo, rev);
        } catch (HubException e) {
            if (!(e.getCause() instanceof IOException) && !exists(repo)) { // maybe a mistyped local path
                throw new HubException(e.getMessage() + " (and there is no local directory " + repo + ")", e);
            }
            throw e;
        }
        String commit = info.commit();
        if (!HubCache.isCommit(commit)) {
            throw new HubException("the hub answered \"" + commit + "\" as the commit of " + repo + "@" + rev
                    + ", which is not a commit hash");
        }
        List<String> plan = ModelFiles.plan(repo, rev, info.files());
        cache.writeRef(rev, commit);
        progress.fetching(repo, rev, commit, plan.size());
        for (String file : plan) {
            fetch(repo, commit, file, cache, client, progress);
        }
        Path snapshot = cache.snapshot(commit);
        if (plan.contains(ModelFiles.INDEX)) {
            for (String shard : ModelFiles.shards(repo, snapshot.resolve(ModelFiles.INDEX), info.files())) {
                fetch(repo, commit, shard, cache, client, progress);
            }
        }
        for (String optional : ModelFiles.OPTIONAL) {
            if (!info.files().contains(optional)) {
                cache.markMissing(commit, optional);
            }
        }
        return snapshot;
    }

    /** One file into snapshots/COMMIT/: already there, or its blob already there (linked), or downloaded. */
    private static void fetch(String repo, String commit, String file, HubCache cache, HubClient client,
                              Progress progress) throws IOException {
        Path pointer = cache.snapshot(commit).resolve(file);
        if (Files.isRegularFile(pointer)) {
            return;
        }
        FileMeta meta = client.metadata(repo, commit, file);
        Path blob = cache.blob(meta.etag());
        if (!Files.isRegularFile(blob) || Files.size(blob) != meta.size()) {
            client.download(repo, meta, cache, progress);
        }
        cache.link(blob, pointer);
    }

    private static boolean isDirectory(String model) {
        try {
            return Files.isDirectory(Path.of(model));
        } catch (InvalidPathException e) {
            return false;
        }
    }

    private static boolean exists(String model) {
        try {
            return Files.exists(Path.of(model));
        } catch (InvalidPathException e) {
            return false;
        }
    }
}
