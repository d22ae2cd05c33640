package dev.jvllm.engine.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where and how models are fetched from a Hugging Face hub, read from the environment variables
 * huggingface_hub reads, so that jvllm and Python tools share one cache and one login.
 *
 * @param endpoint    the hub, {@code HF_ENDPOINT} (default {@code https://huggingface.co}), no trailing slash
 * @param cacheDir    the hub cache: {@code HF_HUB_CACHE}, else {@code HUGGINGFACE_HUB_CACHE}, else
 *                    {@code $HF_HOME/hub}, else {@code $XDG_CACHE_HOME/huggingface/hub}, else
 *                    {@code ~/.cache/huggingface/hub}
 * @param token       sent as {@code Authorization: Bearer}: {@code HF_TOKEN}, else
 *                    {@code HUGGING_FACE_HUB_TOKEN}, else the file {@code HF_TOKEN_PATH} or {@code $HF_HOME/token}
 *                    ({@code huggingface-cli login} writes it); null for none
 * @param offline     {@code HF_HUB_OFFLINE} (or {@code TRANSFORMERS_OFFLINE}) is 1/true/yes/on: cache only
 * @param readTimeout how long a download may stall, {@code HF_HUB_DOWNLOAD_TIMEOUT} seconds (default 10)
 */
public record HubSettings(String endpoint, Path cacheDir, String token, boolean offline, Duration readTimeout) {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    public HubSettings {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(cacheDir, "cacheDir");
        Objects.requireNonNull(readTimeout, "readTimeout");
        endpoint = endpoint.replaceAll("/+$", "");
        token = token == null || token.isBlank() ? null : token.strip();
    }

    /** The settings of this process's environment. */
    public static HubSettings fromEnvironment() {
        return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** The settings a process with environment {@code env} and home directory {@code home} would use. */
    public static HubSettings fromEnvironment(Map<String, String> env, Path home) {
        String defaultHome = expand(first(env, "XDG_CACHE_HOME", home.resolve(".cache").toString()), env, home)
                + "/huggingface";
        Path hfHome = Path.of(expand(first(env, "HF_HOME", defaultHome), env, home));
        String hubCache = first(env, "HF_HUB_CACHE", first(env, "HUGGINGFACE_HUB_CACHE",
                hfHome.resolve("hub").toString()));
        String token = first(env, "HF_TOKEN", env.get("HUGGING_FACE_HUB_TOKEN"));
        if (token == null || token.isBlank()) {
            Path tokenFile = Path.of(expand(first(env, "HF_TOKEN_PATH", hfHome.resolve("token").toString()), env,
                    home));
            token = readToken(tokenFile);
        }
        boolean offline = isTrue(env.get("HF_HUB_OFFLINE")) || isTrue(env.get("TRANSFORMERS_OFFLINE"));
        Duration timeout = Duration.ofSeconds(10);
        String t = env.get("HF_HUB_DOWNLOAD_TIMEOUT");
        if (t != null && !t.isBlank()) {
            try {
                timeout = Duration.ofMillis((long) (Double.parseDouble(t.strip()) * 1000));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("HF_HUB_DOWNLOAD_TIMEOUT must be a number of seconds, got " + t);
            }
        }
        return new HubSettings(first(env, "HF_ENDPOINT", DEFAULT_ENDPOINT), Path.of(expand(hubCache, env, home)),
                token, offline, timeout);
    }

    /** The same settings with {@code offline} set. */
    public HubSettings withOffline(boolean offline) {
        return new HubSettings(endpoint, cacheDir, token, offline, readTimeout);
    }

    @Override
    public String toString() { // never print the token
        return "HubSettings[endpoint=" + endpoint + ", cacheDir=" + cacheDir + ", token="
                + (token == null ? "none" : "set") + ", offline=" + offline + ", readTimeout=" + readTimeout + "]";
    }

    private static String first(Map<String, String> env, String name, String fallback) {
        String v = env.get(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    /** huggingface_hub's _is_true. */
    private static boolean isTrue(String v) {
        return v != null && Set.of("1", "ON", "YES", "TRUE").contains(v.strip().toUpperCase(Locale.ROOT));
    }

    private static String readToken(Path file) {
        try {
            return Files.isRegularFile(file) ? Files.readString(file, StandardCharsets.UTF_8).strip() : null;
        } catch (IOException e) {
            return null; // an unreadable token file means no token, as in huggingface_hub
        }
    }

    private static final Pattern VAR = Pattern.compile("\\$(\\w+)|\\$\\{(\\w+)}");

    /** Python's os.path.expanduser(os.path.expandvars(p)), as huggingface_hub applies to its paths. */
    static String expand(String path, Map<String, String> env, Path home) {
        Matcher m = VAR.matcher(path);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String name = m.group(1) != null ? m.group(1) : m.group(2);
            String value = env.get(name);
            m.appendReplacement(sb, Matcher.quoteReplacement(value != null ? value : m.group()));
        }
        m.appendTail(sb);
        String p = sb.toString();
        if (p.equals("~") || p.startsWith("~/")) {
            p = home + p.substring(1);
        }
        return p;
    }
}
