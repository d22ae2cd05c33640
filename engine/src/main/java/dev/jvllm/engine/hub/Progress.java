package dev.jvllm.engine.hub;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Download progress on stderr, one line per event (readable in logs and terminals alike): a line when a
 * file starts, one each further 10% of a large file, one when it is done, with the rate.
 */
final class Progress {
    private static final long LARGE = 8L << 20;

    private final PrintStream err;
    private long size;
    private long start;
    private long startNanos;
    private int lastDecile;

    Progress(PrintStream err) {
        this.err = err;
    }

    void fetching(String repo, String revision, String commit, int files) {
        err.printf("Fetching %s (revision %s, commit %s): %d file%s%n", repo, revision, commit.substring(0, 12),
                files, files == 1 ? "" : "s");
    }

    void start(String file, long size, long resumedFrom) {
        this.size = size;
        this.start = resumedFrom;
        this.startNanos = System.nanoTime();
        this.lastDecile = (int) (size == 0 ? 10 : resumedFrom * 10 / size);
        err.printf("  %s (%s)%s%n", file, bytes(size),
                resumedFrom > 0 ? ", resuming at " + bytes(resumedFrom) : "");
    }

    void advance(String file, long have) {
        if (size < LARGE) {
            return;
        }
        int decile = (int) (have * 10 / size);
        if (decile > lastDecile && decile < 10) {
            lastDecile = decile;
            err.printf("  %s %d%% (%s of %s)%n", file, decile * 10, bytes(have), bytes(size));
        }
    }

    void retry(String file, long have, Exception cause) {
        err.printf("  %s: %s; resuming at %s%n", file, cause.getMessage(), bytes(have));
    }

    void done(String file) {
        double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
        err.printf("  %s done, %s/s%n", file, bytes((long) ((size - start) / seconds)));
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
