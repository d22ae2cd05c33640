package dev.jvllm.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The hub's HTTP API as huggingface_hub uses it:
 * <ul>
 *   <li>{@code GET /api/models/REPO/revision/REV} -> {@code sha} (the commit) and {@code siblings[].rfilename};</li>
 *   <li>{@code HEAD /REPO/resolve/COMMIT/FILE} (relative redirects followed, e.g. a renamed repository) ->
 *       {@code X-Repo-Commit}, the ETag ({@code X-Linked-Etag} for LFS files, else {@code ETag}), the size
 *       ({@code X-Linked-Size}, else {@code Content-Length}) and, for LFS files, a redirect to the CDN;</li>
 *   <li>{@code GET} of that location, with {@code Range: bytes=N-} to resume; the token is sent only to the
 *       hub's own host, never to the CDN;</li>
 *   <li>errors by {@code X-Error-Code}: RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound.</li>
 * </ul>
 */
final class HubClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern GIT_SHA1 = Pattern.compile("[0-9a-f]{40}");
    /** Consecutive failed attempts (no byte received) before a download gives up; huggingface_hub's count. */
    private static final int RETRIES = 5;

    private final HubSettings settings;
    private final URI endpoint;

    HubClient(HubSettings settings) {
        this.settings = settings;
        this.endpoint = URI.create(settings.endpoint() + "/");
    }

    record RepoInfo(String commit, Set<String> files) {
    }

    record FileMeta(String file, String commit, String etag, long size, URI location) {
    }

    /** The commit {@code revision} points at and the repository's files at that commit. */
    RepoInfo repoInfo(String repo, String revision) {
        URI uri = URI.create(settings.endpoint() + "/api/models/" + repo + "/revision/" + quote(revision, false));
        HttpURLConnection c = follow(uri, "GET", repo);
        try {
            int code = c.getResponseCode();
            if (code != 200) {
                throw error(c, code, repo, revision, null);
            }
            JsonNode info;
            try (InputStream in = c.getInputStream()) {
                info = JSON.readTree(in);
            }
            if (!info.path("sha").isTextual()) {
                throw new HubException(c.getURL() + " answered without a \"sha\" (the commit of " + revision + ")");
            }
            Set<String> files = new LinkedHashSet<>();
            for (JsonNode s : info.path("siblings")) {
                if (s.path("rfilename").isTextual()) {
                    files.add(s.get("rfilename").asText());
                }
            }
            return new RepoInfo(info.get("sha").asText(), files);
        } catch (IOException e) {
            throw unreachable(uri, e);
        } finally {
            c.disconnect();
        }
    }

    /**
     * A request that follows relative redirects (a renamed repository answers 307 to its new path on the
     * same host) and stops at absolute ones (the CDN location of an LFS file, read from the response).
     */
    private HttpURLConnection follow(URI uri, String method, String repo) {
        for (int hops = 0; ; hops++) {
            HttpURLConnection c = open(uri, method, repo);
            if (method.equals("HEAD")) {
                c.setRequestProperty("Accept-Encoding", "identity"); // the real size, not a compressed one
            }
            try {
                int code = c.getResponseCode();
                String location = c.getHeaderField("Location");
                if (code >= 300 && code < 400 && location != null && URI.create(location).getHost() == null
                        && hops < 10) {
                    c.disconnect();
                    uri = uri.resolve(location);
                    continue;
                }
                return c;
            } catch (IOException e) {
                c.disconnect();
                throw unreachable(uri, e);
            }
        }
    }

    /** HEAD of {@code file} at {@code commit}: its ETag, size and where to download it. */
    FileMeta metadata(String repo, String commit, String file) {
        URI uri = URI.create(settings.endpoint() + "/" + repo + "/resolve/" + quote(commit, false) + "/"
                + quote(file, true));
        HttpURLConnection c = follow(uri, "HEAD", repo);
        try {
            int code = c.getResponseCode();
            String location = c.getHeaderField("Location");
            boolean redirect = code >= 300 && code < 400 && location != null;
            if (code >= 400 || (code >= 300 && !redirect)) {
                throw error(c, code, repo, commit, file);
            }
            URI at = URI.create(c.getURL().toString());
            String repoCommit = c.getHeaderField("X-Repo-Commit");
            String etag = normalizeEtag(Objects.requireNonNullElse(c.getHeaderField("X-Linked-Etag"),
                    Objects.requireNonNullElse(c.getHeaderField("ETag"), "")));
            String size = c.getHeaderField("X-Linked-Size");
            if (size == null && !redirect) {
                size = c.getHeaderField("Content-Length");
            }
            if (repoCommit == null || etag.isEmpty() || size == null) {
                throw new HubException(at + " answered without " + (repoCommit == null ? "X-Repo-Commit"
                        : etag.isEmpty() ? "an ETag" : "a size") + ": the endpoint " + settings.endpoint()
                        + " does not behave like a Hugging Face hub (check HF_ENDPOINT and any proxy)");
            }
            if (etag.contains("/") || etag.contains("\\") || etag.startsWith(".")) {
                throw new HubException(at + " answered an ETag that is not a file name: " + etag);
            }
            return new FileMeta(file, repoCommit, etag, Long.parseLong(size.strip()),
                    redirect ? at.resolve(location) : at);
        } catch (IOException e) {
            throw unreachable(uri, e);
        } catch (NumberFormatException e) {
            throw new HubException(uri + " answered a size that is not a number", e);
        } finally {
            c.disconnect();
        }
    }

    /**
     * Downloads {@code meta}'s blob into the cache: resumes {@code blobs/ETAG.incomplete} with a Range request,
     * retries a cut connection from where it stopped, checks size and checksum (sha256 for LFS ETags, git
     * blob sha1 for the others, hashed while the bytes arrive), then renames it to {@code blobs/ETAG}
     * atomically. Holds the blob's lock file meanwhile, so concurrent jvllm processes download it once.
     */
    void download(String repo, FileMeta meta, HubCache cache, Progress progress) throws IOException {
        Path blob = cache.blob(meta.etag());
        Path lock = cache.lockFile(meta.etag());
        Files.createDirectories(blob.getParent());
        Files.createDirectories(lock.getParent());
        try (FileChannel lockChannel = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lockChannel.lock()) {
            if (Files.isRegularFile(blob) && Files.size(blob) == meta.size()) {
                return; // another process finished it while we waited
            }
            Path partial = blob.resolveSibling(meta.etag() + ".incomplete");
            if (Files.isRegularFile(partial) && Files.size(partial) > meta.size()) {
                Files.delete(partial);
            }
            if (!Files.exists(partial)) {
                Files.createFile(partial);
            }
            Checksum sum = new Checksum(meta);
            long have = sum.addFile(partial);
            progress.start(meta.file(), meta.size(), have);
            int failures = 0;
            while (have < meta.size()) {
                long before = have;
                try {
                    have = fetch(repo, meta, partial, have, sum, progress);
                } catch (IOException e) {
                    have = Files.size(partial);
                    failures = have > before ? 1 : failures + 1;
                    if (failures >= RETRIES) {
                        throw new HubException("download of " + meta.file() + " from " + repo + " was interrupted at "
                                + have + " of " + meta.size() + " bytes (" + e.getMessage() + "); run again to resume "
                                + "from " + partial, e);
                    }
                    progress.retry(meta.file(), have, e);
                    sleep(Math.min(1000, 25L << failures));
                }
            }
            String actual = sum.hex();
            if (Files.size(partial) != meta.size() || (actual != null && !actual.equals(meta.etag()))) {
                Files.deleteIfExists(partial);
                throw new HubException("download of " + meta.file() + " from " + repo + " is corrupt ("
                        + (actual == null ? "" : "checksum " + actual + ", ") + "expected ETag " + meta.etag()
                        + " of " + meta.size() + " bytes); the partial file was deleted, run again to download it anew");
            }
            HubCache.move(partial, blob);
            progress.done(meta.file());
        }
    }

    /** One GET from {@code have}; appends to {@code partial} (and the checksum) and returns its new length. */
    private long fetch(String repo, FileMeta meta, Path partial, long have, Checksum sum, Progress progress)
            throws IOException {
        HttpURLConnection c = open(meta.location(), "GET", repo);
        c.setRequestProperty("Accept-Encoding", "identity");
        if (have > 0) {
            c.setRequestProperty("Range", "bytes=" + have + "-");
        }
        try {
            int code = c.getResponseCode();
            if (code == 416 && have == meta.size()) {
                return have;
            }
            if (code == 408 || code == 429 || code >= 500) { // transient: retried by the caller
                throw new IOException("HTTP " + code + " from " + meta.location().getHost());
            }
            if (code != 200 && code != 206) {
                throw error(c, code, repo, meta.commit(), meta.file());
            }
            boolean append = have > 0 && code == 206;
            if (!append) { // the server ignored the range: start over
                have = 0;
                sum.reset();
            }
            try (InputStream in = c.getInputStream();
                 OutputStream out = Files.newOutputStream(partial, StandardOpenOption.WRITE,
                         append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (have + n > meta.size()) {
                        throw new HubException(meta.location() + " sent more than the " + meta.size() + " bytes its "
                                + "metadata announced");
                    }
                    out.write(buf, 0, n);
                    sum.add(buf, n);
                    have += n;
                    progress.advance(meta.file(), have);
                }
            }
            if (have < meta.size()) {
                throw new IOException("connection closed after " + have + " of " + meta.size() + " bytes");
            }
            return have;
        } finally {
            c.disconnect();
        }
    }

    /**
     * The checksum an ETag is: sha256 of the content (LFS files), or git's blob sha1, which hashes
     * {@code "blob <size>\0"} first (regular files); other ETags are not checksums (size check only).
     */
    private static final class Checksum {
        private final MessageDigest md;
        private final byte[] header;

        Checksum(FileMeta meta) {
            try {
                if (SHA256.matcher(meta.etag()).matches()) {
                    md = MessageDigest.getInstance("SHA-256");
                    header = new byte[0];
                } else if (GIT_SHA1.matcher(meta.etag()).matches()) {
                    md = MessageDigest.getInstance("SHA-1");
                    header = ("blob " + meta.size() + "\0").getBytes(StandardCharsets.US_ASCII);
                } else {
                    md = null;
                    header = null;
                }
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            reset();
        }

        void reset() {
            if (md != null) {
                md.reset();
                md.update(header);
            }
        }

        void add(byte[] b, int n) {
            if (md != null) {
                md.update(b, 0, n);
            }
        }

        /** Hashes what an earlier run left in {@code partial}; returns its length. */
        long addFile(Path partial) throws IOException {
            long n = 0;
            try (InputStream in = Files.newInputStream(partial)) {
                byte[] buf = new byte[1 << 16];
                int r;
                while ((r = in.read(buf)) > 0) {
                    add(buf, r);
                    n += r;
                }
            }
            return n;
        }

        String hex() {
            return md == null ? null : HexFormat.of().formatHex(md.digest());
        }
    }

    private HttpURLConnection open(URI uri, String method, String repo) {
        try {
            HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
            c.setInstanceFollowRedirects(false);
            c.setRequestMethod(method);
            c.setConnectTimeout(10_000);
            c.setReadTimeout((int) Math.max(1, settings.readTimeout().toMillis()));
            c.setRequestProperty("User-Agent", "jvllm; java/" + Runtime.version().feature());
            if (settings.token() != null && sameHost(uri)) {
                c.setRequestProperty("Authorization", "Bearer " + settings.token());
            }
            return c;
        } catch (IOException | IllegalArgumentException e) {
            throw new HubException("cannot open " + uri + " for " + repo + ": " + e.getMessage(), e);
        }
    }

    /** The token goes to the hub only; a CDN location on another host is pre-signed. */
    private boolean sameHost(URI uri) {
        return Objects.equals(uri.getHost(), endpoint.getHost()) && uri.getPort() == endpoint.getPort()
                && Objects.equals(uri.getScheme(), endpoint.getScheme());
    }

    private HubException unreachable(URI uri, IOException e) {
        return new HubException("cannot reach " + settings.endpoint() + " (" + uri + ": " + e + ")", e);
    }

    /** The hub's answer as an error naming the repository, revision or file, and the fix. */
    private HubException error(HttpURLConnection c, int code, String repo, String revision, String file) {
        String errorCode = c.getHeaderField("X-Error-Code");
        String message = c.getHeaderField("X-Error-Message");
        String page = settings.endpoint() + "/" + repo;
        String detail = " (HTTP " + code + (message == null ? "" : ": " + message) + ")";
        if ("RevisionNotFound".equals(errorCode)) {
            return new HubException("revision " + revision + " not found in repository " + repo + " on "
                    + settings.endpoint() + detail);
        }
        if ("EntryNotFound".equals(errorCode) || (code == 404 && file != null && errorCode == null)) {
            return new HubException("file " + file + " not found in repository " + repo + " at revision " + revision
                    + detail);
        }
        if ("GatedRepo".equals(errorCode)) {
            return new HubException("repository " + repo + " is gated: accept its conditions on " + page + " and set "
                    + "HF_TOKEN to an access token of that account"
                    + (settings.token() == null ? "" : " (the token in use was refused)") + detail);
        }
        if ("RepoNotFound".equals(errorCode) || code == 401 || (code == 404 && file == null)) {
            return new HubException("repository " + repo + " not found on " + settings.endpoint()
                    + (settings.token() == null ? "; if it is private or gated, set HF_TOKEN to an access token"
                    : ", or the token in HF_TOKEN has no access to it") + detail);
        }
        if (code == 403) {
            return new HubException("access to repository " + repo + " was refused: make sure the token in HF_TOKEN "
                    + "has read access to " + page + detail);
        }
        if (code == 429) {
            return new HubException(settings.endpoint() + " is rate-limiting requests for " + repo + "; try again "
                    + "later" + (settings.token() == null ? " or set HF_TOKEN (logged-in users get higher limits)" : "")
                    + detail);
        }
        return new HubException(settings.endpoint() + " answered HTTP " + code + " for " + repo
                + (file == null ? "" : " file " + file) + " at revision " + revision + detail);
    }

    static String normalizeEtag(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        return e.replaceAll("^\"|\"$", "");
    }

    /** Python's urllib.parse.quote: unreserved characters kept, '/' kept only if asked, the rest %XX of UTF-8. */
    static String quote(String s, boolean keepSlash) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "_.-~".indexOf(c) >= 0
                    || c == '/' && keepSlash) {
                sb.append((char) c);
            } else {
                sb.append('%').append(String.format("%02X", c));
            }
        }
        return sb.toString();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException("interrupted", e);
        }
    }
}
