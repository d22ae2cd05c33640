package dev.jvllm.engine.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * This process's resident memory as Linux reports it in {@code /proc/self/status}: peak and current
 * resident set ({@code VmHWM}, {@code VmRSS}) and the current split into anonymous memory (heap,
 * activations, KV cache pages touched) and file pages (memory-mapped weights).
 *
 * @param peakBytes  VmHWM
 * @param rssBytes   VmRSS
 * @param anonBytes  RssAnon
 * @param fileBytes  RssFile
 */
record ProcessMemory(long peakBytes, long rssBytes, long anonBytes, long fileBytes) {
    private static final Path STATUS = Path.of("/proc/self/status");

    /** Now, or null where /proc/self/status is missing or lacks the fields (not Linux). */
    static ProcessMemory sample() {
        if (!Files.isReadable(STATUS)) {
            return null;
        }
        try {
            return parse(Files.readString(STATUS));
        } catch (IOException e) {
            return null;
        }
    }

    /** The four fields of a /proc/PID/status text (values in kB), or null when one is missing. */
    static ProcessMemory parse(String status) {
        Map<String, Long> kb = new LinkedHashMap<>();
        for (String line : status.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String[] v = line.substring(colon + 1).trim().split("\\s+");
            if (v.length == 2 && v[1].equals("kB")) {
                try {
                    kb.put(line.substring(0, colon), Long.parseLong(v[0]));
                } catch (NumberFormatException e) {
                    // not a size field
                }
            }
        }
        Long hwm = kb.get("VmHWM"), rss = kb.get("VmRSS"), anon = kb.get("RssAnon"), file = kb.get("RssFile");
        if (hwm == null || rss == null || anon == null || file == null) {
            return null;
        }
        return new ProcessMemory(hwm * 1024, rss * 1024, anon * 1024, file * 1024);
    }
}
