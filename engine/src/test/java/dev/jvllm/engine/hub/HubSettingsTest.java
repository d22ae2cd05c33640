package dev.jvllm.engine.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The environment variables huggingface_hub reads (constants.py, utils/_auth.py), read the same way. */
class HubSettingsTest {
    @TempDir
    Path home;

    @Test
    void defaults() {
        HubSettings s = HubSettings.fromEnvironment(Map.of(), home);
        assertEquals("https://huggingface.co", s.endpoint());
        assertEquals(home.resolve(".cache/huggingface/hub"), s.cacheDir());
        assertNull(s.token());
        assertFalse(s.offline());
        assertEquals(Duration.ofSeconds(10), s.readTimeout());
    }

    @Test
    void cacheDirectoryPrecedence() {
        assertEquals(Path.of("/x/huggingface/hub"), HubSettings.fromEnvironment(Map.of("XDG_CACHE_HOME", "/x"), home).cacheDir());
        assertEquals(Path.of("/h/hub"), HubSettings.fromEnvironment(Map.of("HF_HOME", "/h", "XDG_CACHE_HOME", "/x"),
                home).cacheDir());
        assertEquals(Path.of("/legacy"), HubSettings.fromEnvironment(Map.of("HF_HOME", "/h",
                "HUGGINGFACE_HUB_CACHE", "/legacy"), home).cacheDir());
        assertEquals(Path.of("/c"), HubSettings.fromEnvironment(Map.of("HF_HUB_CACHE", "/c",
                "HUGGINGFACE_HUB_CACHE", "/legacy"), home).cacheDir());
        // expanduser(expandvars(...)), as huggingface_hub
        assertEquals(home.resolve("models"), HubSettings.fromEnvironment(Map.of("HF_HUB_CACHE", "~/models"), home).cacheDir());
        assertEquals(Path.of("/data/hf/hub"), HubSettings.fromEnvironment(Map.of("HF_HOME", "${D}/hf", "D", "/data"),
                home).cacheDir());
    }

    @Test
    void tokenFromVariableThenFile() throws IOException {
        Path hfHome = Files.createDirectories(home.resolve("hf"));
        Files.writeString(hfHome.resolve("token"), "hf_from_file\n");
        assertEquals("hf_from_file", HubSettings.fromEnvironment(Map.of("HF_HOME", hfHome.toString()), home).token());
        assertEquals("hf_env", HubSettings.fromEnvironment(Map.of("HF_HOME", hfHome.toString(), "HF_TOKEN", " hf_env "),
                home).token());
        assertEquals("hf_legacy", HubSettings.fromEnvironment(Map.of("HUGGING_FACE_HUB_TOKEN", "hf_legacy"), home).token());
        Path other = home.resolve("elsewhere");
        Files.writeString(other, "hf_path");
        assertEquals("hf_path", HubSettings.fromEnvironment(Map.of("HF_TOKEN_PATH", other.toString()), home).token());
        assertFalse(HubSettings.fromEnvironment(Map.of("HF_TOKEN", "hf_secret_value"), home).toString()
                .contains("hf_secret_value"));
    }

    @Test
    void offlineAndEndpoint() {
        for (String v : new String[] {"1", "true", "YES", "on"}) {
            assertTrue(HubSettings.fromEnvironment(Map.of("HF_HUB_OFFLINE", v), home).offline(), v);
        }
        assertTrue(HubSettings.fromEnvironment(Map.of("TRANSFORMERS_OFFLINE", "1"), home).offline());
        assertFalse(HubSettings.fromEnvironment(Map.of("HF_HUB_OFFLINE", "0"), home).offline());
        assertEquals("http://mirror:8080", HubSettings.fromEnvironment(Map.of("HF_ENDPOINT", "http://mirror:8080/"),
                home).endpoint());
        assertEquals(Duration.ofMillis(2500), HubSettings.fromEnvironment(Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "2.5"),
                home).readTimeout());
        assertThrows(IllegalArgumentException.class,
                () -> HubSettings.fromEnvironment(Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "soon"), home));
    }

    @Test
    void urlQuotingAsPython() {
        // urllib.parse.quote("refs/pr/1", safe="") and quote("sub dir/ü.json")
        assertEquals("refs%2Fpr%2F1", HubClient.quote("refs/pr/1", false));
        assertEquals("sub%20dir/%C3%BC.json", HubClient.quote("sub dir/ü.json", true));
        assertEquals("abc", HubClient.normalizeEtag("W/\"abc\""));
    }
}
