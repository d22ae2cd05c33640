package dev.jvllm.engine.core;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * Where an engine step's wall time goes, by phase, for decode-only steps and the others (prefills,
 * chunked prefills and mixed batches) apart: on with {@code -Djvllm.engine.profile=true}, printed
 * to stderr when the engine closes. Phases: schedule (the scheduler's batch), inputs (the chunks'
 * token, block-table and logit-row arrays), forward ({@code ModelRunner.execute}: uploads and the
 * kernels' launch or the graph's replay; a GPU backend returns before the kernels finish), sample
 * (logprobs and sampling, which wait for the logits), outputs (committing tokens, finish checks,
 * the deltas).
 */
final class StepProfile {
    private static final String[] PHASES = {"schedule", "inputs", "forward", "sample", "outputs"};

    /** Whether this profile records (off: every method returns at once, nothing is timed). */
    private final boolean on;
    private final long[][] nanos = new long[2][PHASES.length];
    private final long[] steps = new long[2];
    private final long[] sequences = new long[2];
    private long last;
    private long schedule; // the current step's schedule phase, counted once its kind is known
    private int kind;
    private int phase;

    /** On with {@code -Djvllm.engine.profile=true}. */
    static StepProfile fromSystemProperty() {
        return new StepProfile(Boolean.getBoolean("jvllm.engine.profile"));
    }

    StepProfile(boolean on) {
        this.on = on;
    }

    /** Starts a step's clock. */
    void start() {
        if (on) {
            last = System.nanoTime();
            phase = 0;
        }
    }

    /** Ends the current phase (in {@link #PHASES} order); a step that schedules nothing counts nowhere. */
    void lap() {
        if (!on) {
            return;
        }
        long now = System.nanoTime();
        if (phase == 0) {
            schedule = now - last;
            phase++;
        } else {
            nanos[kind][phase++] += now - last;
        }
        last = now;
    }

    /** The step's batch, scheduled: decode-only (kind 0) or not (kind 1). */
    void kind(List<ModelRunner.Chunk> chunks) {
        if (!on) {
            return;
        }
        kind = DecodeGraphs.isDecode(chunks) ? 0 : 1;
        steps[kind]++;
        sequences[kind] += chunks.size();
        nanos[kind][0] += schedule;
    }

    /** The table, when on (a step-less profile prints its header alone). */
    void print(PrintStream out) {
        if (!on) {
            return;
        }
        out.println("engine step profile (-Djvllm.engine.profile): mean ms per step by phase");
        out.printf(Locale.ROOT, "%-12s %7s %9s", "steps", "count", "seqs/step");
        for (String p : PHASES) {
            out.printf(Locale.ROOT, " %9s", p);
        }
        out.printf(Locale.ROOT, " %9s%n", "total");
        String[] names = {"decode-only", "other"};
        for (int k = 0; k < 2; k++) {
            if (steps[k] == 0) {
                continue;
            }
            out.printf(Locale.ROOT, "%-12s %7d %9.1f", names[k], steps[k], (double) sequences[k] / steps[k]);
            long sum = 0;
            for (int p = 0; p < PHASES.length; p++) {
                out.printf(Locale.ROOT, " %9.3f", nanos[k][p] / 1e6 / steps[k]);
                sum += nanos[k][p];
            }
            out.printf(Locale.ROOT, " %9.3f%n", sum / 1e6 / steps[k]);
        }
    }
}
