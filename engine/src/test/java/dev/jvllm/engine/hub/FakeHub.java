package dev.jvllm.engine.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A local Hugging Face hub with the real hub's HTTP behaviour (as huggingface_hub's file_download.py and
 * hf_api.py expect it), serving fixture repositories:
 * <ul>
 *   <li>{@code GET /api/models/REPO/revision/REV}: {@code {"id", "sha", "siblings": [{"rfilename"}]}};</li>
 *   <li>{@code HEAD|GET /REPO/resolve/REV/FILE}: regular files answer 200 with {@code ETag} (git blob sha1),
 *       {@code X-Repo-Commit}, {@code Content-Length}; LFS files (*.safetensors) answer 302 to a CDN URL
 *       on another host name ({@code localhost} vs {@code 127.0.0.1}) with {@code X-Linked-Etag} (sha256)
 *       and {@code X-Linked-Size}; a renamed repository answers 307 with a relative Location;</li>
 *   <li>{@code GET /cdn/SHA256}: the content, honouring {@code Range: bytes=N-} (206 + Content-Range);</li>
 *   <li>errors with {@code X-Error-Code}: 401 RepoNotFound, 401 GatedRepo (gated repo without the token),
 *       404 RevisionNotFound, 404 EntryNotFound (with X-Repo-Commit).</li>
 * </ul>
 * Every request is recorded; {@link #cuts} makes CDN responses stop after N bytes and drop the connection.
 */
final class FakeHub implements AutoCloseable {
    static final String TOKEN = "hf_test_secret";

    record Request(String method, String path, String authorization, String range) {
    }

    /** A repository: commits (commit -> path -> content), refs (branch/tag -> commit). */
    static final class Repo {
        final Map<String, Map<String, byte[]>> commits = new LinkedHashMap<>();
        final Map<String, String> refs = new LinkedHashMap<>();
        boolean gated;

        Repo commit(String commit, Map<String, byte[]> files, String... refNames) {
            commits.put(commit, new LinkedHashMap<>(files));
            for (String r : refNames) {
                refs.put(r, commit);
            }
            return this;
        }
    }

    final Map<String, Repo> repos = new ConcurrentHashMap<>();
    /** Old id -> new id: the hub redirects the old name with a relative 307. */
    final Map<String, String> renamed = new ConcurrentHashMap<>();
    final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    /** Each CDN GET takes the next value: send that many body bytes, then drop the connection. */
    final Deque<Integer> cuts = new ArrayDeque<>();
    /** CDN content served instead of the real bytes (same length): a corrupt transfer. */
    final Map<String, byte[]> corrupt = new ConcurrentHashMap<>();

    private final HttpServer server;

    FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private String cdn() {
        return "http://localhost:" + server.getAddress().getPort() + "/cdn/";
    }

    List<Request> requests(String pathPrefix) {
        synchronized (requests) {
            return requests.stream().filter(r -> r.path.startsWith(pathPrefix)).toList();
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String gitSha1(byte[] b) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            md.update(("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(md.digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static boolean isLfs(String path) {
        return path.endsWith(".safetensors");
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String raw = ex.getRequestURI().getRawPath();
            requests.add(new Request(ex.getRequestMethod(), URLDecoder.decode(raw, StandardCharsets.UTF_8),
                    ex.getRequestHeaders().getFirst("Authorization"), ex.getRequestHeaders().getFirst("Range")));
            String[] seg = Arrays.stream(raw.substring(1).split("/", -1))
                    .map(s -> URLDecoder.decode(s, StandardCharsets.UTF_8)).toArray(String[]::new);
            if (seg.length == 2 && seg[0].equals("cdn")) {
                cdnFile(ex, seg[1]);
            } else if (seg.length == 6 && seg[0].equals("api") && seg[1].equals("models") && seg[4].equals("revision")) {
                api(ex, seg[2] + "/" + seg[3], seg[5]);
            } else if (seg.length >= 5 && seg[2].equals("resolve")) {
                String file = String.join("/", Arrays.copyOfRange(seg, 4, seg.length));
                resolve(ex, seg[0] + "/" + seg[1], seg[3], file);
            } else {
                send(ex, 404, new byte[0]);
            }
        }
    }

    /** The repository (or a relative redirect for a renamed one), or null after answering. */
    private Repo repo(HttpExchange ex, String id) throws IOException {
        if (renamed.containsKey(id)) {
            String raw = ex.getRequestURI().getRawPath();
            ex.getResponseHeaders().set("Location", raw.replace("/" + id + "/", "/" + renamed.get(id) + "/"));
            send(ex, 307, new byte[0]);
            return null;
        }
        Repo repo = repos.get(id);
        if (repo == null) {
            error(ex, 401, "RepoNotFound", "Repository not found");
            return null;
        }
        if (repo.gated && !("Bearer " + TOKEN).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
            error(ex, 401, "GatedRepo", "Access to model " + id + " is restricted. You must have access to it "
                    + "and be authenticated to access it. Please log in.");
            return null;
        }
        return repo;
    }

    /** The files of the commit {@code revision} names, or null after answering the error. */
    private Map<String, byte[]> files(HttpExchange ex, String id, String revision) throws IOException {
        Repo repo = repo(ex, id);
        if (repo == null) {
            return null;
        }
        String commit = repo.commits.containsKey(revision) ? revision : repo.refs.get(revision);
        if (commit == null) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return null;
        }
        ex.getResponseHeaders().set("X-Repo-Commit", commit);
        return repo.commits.get(commit);
    }

    private void api(HttpExchange ex, String id, String revision) throws IOException {
        Map<String, byte[]> files = files(ex, id, revision);
        if (files == null) {
            return;
        }
        String commit = ex.getResponseHeaders().getFirst("X-Repo-Commit");
        StringBuilder json = new StringBuilder("{\"id\": \"" + id + "\", \"sha\": \"" + commit + "\", \"siblings\": [");
        int i = 0;
        for (String f : files.keySet()) {
            json.append(i++ > 0 ? ", " : "").append("{\"rfilename\": \"").append(f).append("\"}");
        }
        json.append("]}");
        ex.getResponseHeaders().set("Content-Type", "application/json");
        send(ex, 200, json.toString().getBytes(StandardCharsets.UTF_8));
    }

    private void resolve(HttpExchange ex, String id, String revision, String file) throws IOException {
        Map<String, byte[]> files = files(ex, id, revision);
        if (files == null) {
            return;
        }
        byte[] content = files.get(file);
        if (content == null) {
            error(ex, 404, "EntryNotFound", file + " does not exist on \"" + revision + "\"");
            return;
        }
        if (isLfs(file)) {
            String sha = sha256(content);
            cdnContent.put(sha, content);
            ex.getResponseHeaders().set("X-Linked-Etag", "\"" + sha + "\"");
            ex.getResponseHeaders().set("X-Linked-Size", Long.toString(content.length));
            ex.getResponseHeaders().set("ETag", "\"" + gitSha1(("lfs pointer " + sha).getBytes()) + "\"");
            ex.getResponseHeaders().set("Location", cdn() + sha + "?X-Amz-Signature=fake");
            send(ex, 302, new byte[0]);
            return;
        }
        ex.getResponseHeaders().set("ETag", "\"" + gitSha1(content) + "\"");
        ranged(ex, content, false);
    }

    private final Map<String, byte[]> cdnContent = new ConcurrentHashMap<>();

    private void cdnFile(HttpExchange ex, String sha) throws IOException {
        byte[] content = cdnContent.get(sha);
        if (content == null) {
            send(ex, 403, new byte[0]); // an expired or unknown signed URL
            return;
        }
        ranged(ex, corrupt.getOrDefault(sha, content), true);
    }

    /** 200 or, for {@code Range: bytes=N-}, 206 with Content-Range; CDN GETs may be cut short. */
    private void ranged(HttpExchange ex, byte[] content, boolean cdn) throws IOException {
        String range = ex.getRequestHeaders().getFirst("Range");
        int from = 0;
        int status = 200;
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            from = Integer.parseInt(range.substring(6, range.length() - 1));
            if (from >= content.length) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + content.length);
                send(ex, 416, new byte[0]);
                return;
            }
            status = 206;
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (content.length - 1) + "/"
                    + content.length);
        }
        byte[] body = Arrays.copyOfRange(content, from, content.length);
        Integer cut;
        synchronized (cuts) {
            cut = cdn && ex.getRequestMethod().equals("GET") ? cuts.poll() : null;
        }
        if (cut == null) {
            send(ex, status, body);
            return;
        }
        ex.sendResponseHeaders(status, body.length);
        OutputStream out = ex.getResponseBody();
        out.write(body, 0, Math.min(cut, body.length));
        out.flush();
        ex.close(); // fewer bytes than Content-Length: the server drops the connection mid-body
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        ex.getResponseHeaders().set("X-Error-Code", code);
        ex.getResponseHeaders().set("X-Error-Message", message);
        send(ex, status, ("{\"error\": \"" + message + "\"}").getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
        if (ex.getRequestMethod().equals("HEAD")) {
            if (status == 200 || status == 206) {
                ex.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
            }
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            ex.getResponseBody().write(body);
        }
    }
}
