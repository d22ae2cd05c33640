package dev.jvllm.api;

import java.util.Map;

/**
 * Options passed to {@link BackendProvider#create}.
 *
 * @param threads worker threads for CPU-side parallelism; 0 = the provider's default
 *     (the CPU backend uses the machine's cores, overridable by {@code -Djvllm.cpu.threads})
 * @param device  device ordinal for accelerator backends (0 for the first)
 * @param extra   free-form provider-specific settings ("scalar" → "true" forces the CPU scalar form)
 */
public record BackendOptions(int threads, int device, Map<String, String> extra) {
    public BackendOptions {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
        extra = Map.copyOf(extra);
    }

    public static BackendOptions defaults() {
        return new BackendOptions(0, 0, Map.of());
    }

    public BackendOptions withThreads(int n) {
        return new BackendOptions(n, device, extra);
    }

    public BackendOptions with(String key, String value) {
        var m = new java.util.HashMap<>(extra);
        m.put(key, value);
        return new BackendOptions(threads, device, m);
    }
}
