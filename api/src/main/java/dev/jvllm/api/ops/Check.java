package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.Arrays;

/** Argument checks shared by the op records; every message names the op, the argument and what was expected. */
final class Check {
    private Check() {
    }

    static Tensor nonNull(String op, String arg, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(op + ": " + arg + " must not be null");
        }
        return t;
    }

    static void dtype(String op, String arg, Tensor t, DType... allowed) {
        if (t == null) {
            return;
        }
        for (DType d : allowed) {
            if (t.dtype() == d) {
                return;
            }
        }
        throw new IllegalArgumentException(op + ": " + arg + " is " + t.describe() + ", expected dtype "
                + Arrays.toString(allowed));
    }

    static void rank(String op, String arg, Tensor t, int rank) {
        if (t != null && t.rank() != rank) {
            throw new IllegalArgumentException(op + ": " + arg + " is " + t.describe() + ", expected rank " + rank);
        }
    }

    /** Checks the shape exactly; {@code -1} in {@code expected} matches any size. */
    static void shape(String op, String arg, Tensor t, int... expected) {
        if (t == null) {
            return;
        }
        int[] s = t.shape();
        boolean ok = s.length == expected.length;
        for (int i = 0; ok && i < s.length; i++) {
            ok = expected[i] < 0 || expected[i] == s[i];
        }
        if (!ok) {
            throw new IllegalArgumentException(op + ": " + arg + " is " + t.describe() + ", expected shape "
                    + Arrays.toString(expected).replace("-1", "*"));
        }
    }

    static void sameShape(String op, String a, Tensor ta, String b, Tensor tb) {
        if (ta != null && tb != null && !Arrays.equals(ta.shape(), tb.shape())) {
            throw new IllegalArgumentException(op + ": " + b + " " + tb.describe() + " must have the shape of "
                    + a + " " + ta.describe());
        }
    }

    static void contiguous(String op, String arg, Tensor t) {
        if (t != null && !t.isContiguous()) {
            throw new IllegalArgumentException(op + ": " + arg + " " + t.describe() + " must be contiguous");
        }
    }

    static void positive(String op, String arg, long v) {
        if (v <= 0) {
            throw new IllegalArgumentException(op + ": " + arg + " must be > 0, got " + v);
        }
    }

    static void that(boolean ok, String op, String message) {
        if (!ok) {
            throw new IllegalArgumentException(op + ": " + message);
        }
    }

    static final DType[] FLOATS = {DType.F32, DType.F16, DType.BF16};
}
