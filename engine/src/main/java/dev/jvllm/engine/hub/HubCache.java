package dev.jvllm.engine.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;

/**
 * One repository's part of the Hugging Face hub cache, in huggingface_hub's layout, so that a cache
 * filled by Python serves jvllm and the other way round:
 * <pre>
 * CACHE/models--org--name/
 *   blobs/ETAG                  file contents, named by ETag (git blob sha1, or sha256 for LFS files)
 *   blobs/ETAG.incomplete       a download in progress (resumed from its length)
 *   snapshots/COMMIT/PATH       relative symlink to ../../blobs/ETAG (deeper paths: more ../)
 *   refs/REVISION               the commit a branch or tag pointed at when last fetched (no newline)
 *   .no_exist/COMMIT/PATH       empty file: PATH is known not to exist at COMMIT
 * CACHE/.locks/models--org--name/ETAG.lock
 * </pre>
 */
final class HubCache {
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    final Path root;
    final String repoId;
    final Path repoDir;

    HubCache(Path root, String repoId) {
        this.root = root;
        this.repoId = repoId;
        this.repoDir = root.resolve(folderName(repoId));
    }

    /** {@code org/name} -> {@code models--org--name}. */
    static String folderName(String repoId) {
        return "models--" + repoId.replace("/", "--");
    }

    static boolean isCommit(String revision) {
        return COMMIT.matcher(revision).matches();
    }

    /** The commit {@code revision} names: itself if it is a commit hash, else what refs/REVISION says, else null. */
    String commitOf(String revision) {
        if (isCommit(revision)) {
            return revision;
        }
        Path ref = repoDir.resolve("refs").resolve(revision);
        try {
            return Files.isRegularFile(ref) ? Files.readString(ref, StandardCharsets.UTF_8).strip() : null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + ref, e);
        }
    }

    /** Records that {@code revision} (a branch or tag) points at {@code commit}; atomic for concurrent readers. */
    void writeRef(String revision, String commit) throws IOException {
        if (revision.equals(commit)) {
            return;
        }
        Path ref = repoDir.resolve("refs").resolve(revision);
        if (Files.isRegularFile(ref) && Files.readString(ref, StandardCharsets.UTF_8).equals(commit)) {
            return;
        }
        Files.createDirectories(ref.getParent());
        Path tmp = Files.createTempFile(ref.getParent(), ref.getFileName().toString(), ".tmp");
        Files.writeString(tmp, commit, StandardCharsets.UTF_8);
        move(tmp, ref);
    }

    Path snapshot(String commit) {
        return repoDir.resolve("snapshots").resolve(commit);
    }

    Path blob(String etag) {
        return repoDir.resolve("blobs").resolve(etag);
    }

    Path lockFile(String etag) {
        return root.resolve(".locks").resolve(folderName(repoId)).resolve(etag + ".lock");
    }

    boolean knownMissing(String commit, String file) {
        return Files.exists(repoDir.resolve(".no_exist").resolve(commit).resolve(file));
    }

    /** Records that {@code file} does not exist at {@code commit}, so later runs need not ask. */
    void markMissing(String commit, String file) throws IOException {
        Path marker = repoDir.resolve(".no_exist").resolve(commit).resolve(file);
        Files.createDirectories(marker.getParent());
        if (!Files.exists(marker)) {
            Files.createFile(marker);
        }
    }

    /** snapshots/COMMIT/FILE -> the blob, as a relative symlink (a copy where the file system has none). */
    void link(Path blob, Path pointer) throws IOException {
        Files.createDirectories(pointer.getParent());
        Files.deleteIfExists(pointer);
        try {
            Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
