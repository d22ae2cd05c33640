package dev.jvllm.conformance;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import java.util.Arrays;

/** The comparison rules of the suite: NaN/Inf pattern first, then the output's {@link Tolerance}. */
public final class Comparison {
    private Comparison() {
    }

    /** Compares every {@link Checked} output of the candidate with the reference's; null when all agree. */
    public static String compareOutputs(Instance reference, Instance candidate) {
        String g = candidate.builder().guardViolation();
        if (g != null) {
            return g;
        }
        for (int i = 0; i < reference.outputs().size(); i++) {
            Checked r = reference.outputs().get(i);
            Checked c = candidate.outputs().get(i);
            String m = compare(r.name(), r.tensor(), c.tensor(), r.tolerance());
            if (m != null) {
                return m;
            }
            String u = untouched(c, candidate.builder());
            if (u != null) {
                return u;
            }
        }
        return null;
    }

    /** Checks that the candidate left its declared untouched slots bit-identical. */
    static String untouched(Checked c, CaseBuilder b) {
        if (c.untouchedSlots().length == 0) {
            return null;
        }
        byte[] before = b.initialBytes(c.tensor());
        if (before == null) {
            throw new IllegalStateException("output " + c.name() + " declares untouched slots but was not made with "
                    + "CaseBuilder.state(...)");
        }
        byte[] after = Tensors.toBytes(c.tensor());
        int slots = c.tensor().dim(0);
        int slotBytes = slots == 0 ? 0 : after.length / slots;
        for (int s : c.untouchedSlots()) {
            int from = s * slotBytes;
            if (!Arrays.equals(before, from, from + slotBytes, after, from, from + slotBytes)) {
                return c.name() + ": slot " + s + " is not in the batch but was modified";
            }
        }
        return null;
    }

    /** Compares one output; null when within tolerance. */
    public static String compare(String name, Tensor ref, Tensor cand, Tolerance tol) {
        if (!Arrays.equals(ref.shape(), cand.shape()) || ref.dtype() != cand.dtype()) {
            return name + ": candidate is " + cand.describe() + ", reference " + ref.describe();
        }
        if (tol instanceof Tolerance.BitExact || !ref.dtype().isFloat() && ref.dtype() != DType.F8_E4M3) {
            byte[] a = Tensors.toBytes(ref);
            byte[] b = Tensors.toBytes(cand);
            int es = ref.dtype().byteSize();
            for (int i = 0; i < a.length; i++) {
                if (a[i] != b[i]) {
                    int e = i / es;
                    return name + ": element " + e + " differs (bit-exact expected): reference "
                            + element(ref, e) + ", candidate " + element(cand, e);
                }
            }
            return null;
        }
        float[] r = Tensors.toFloats(ref);
        float[] c = Tensors.toFloats(cand);
        String untouched = maskCanaries(name, ref.dtype(), r, c);
        if (untouched != null) {
            return untouched;
        }
        for (int i = 0; i < r.length; i++) {
            boolean rn = Float.isNaN(r[i]), cn = Float.isNaN(c[i]);
            boolean ri = Float.isInfinite(r[i]), ci = Float.isInfinite(c[i]);
            if (rn != cn || ri != ci || (ri && r[i] != c[i])) {
                return name + ": NaN/Inf pattern differs at element " + i + ": reference " + r[i] + ", candidate " + c[i];
            }
        }
        switch (tol) {
            case Tolerance.Nmse(double max) -> {
                double num = 0, den = 0;
                int worst = -1;
                double worstErr = -1;
                for (int i = 0; i < r.length; i++) {
                    if (!Float.isFinite(r[i])) {
                        continue;
                    }
                    double d = (double) c[i] - r[i];
                    num += d * d;
                    den += (double) r[i] * r[i];
                    if (Math.abs(d) > worstErr) {
                        worstErr = Math.abs(d);
                        worst = i;
                    }
                }
                double nmse = den == 0 ? (num <= 1e-30 ? 0 : Double.POSITIVE_INFINITY) : num / den;
                if (nmse > max) {
                    return String.format("%s: NMSE %.3g > %.3g (worst element %d: reference %s, candidate %s)", name,
                            nmse, max, worst, worst < 0 ? "-" : r[worst], worst < 0 ? "-" : c[worst]);
                }
                return null;
            }
            case Tolerance.Close(double atol, double rtol) -> {
                for (int i = 0; i < r.length; i++) {
                    if (!Float.isFinite(r[i])) {
                        continue;
                    }
                    double d = Math.abs((double) c[i] - r[i]);
                    if (d > atol + rtol * Math.abs(r[i])) {
                        return String.format("%s: element %d: reference %s, candidate %s, |diff| %.3g > %.3g + %.3g*|ref|",
                                name, i, r[i], c[i], d, atol, rtol);
                    }
                }
                return null;
            }
            case Tolerance.BitExact b -> throw new AssertionError("handled above");
        }
    }

    /**
     * How far a candidate output is from the reference, in the terms of its tolerance, for the
     * report's "worst error" column.
     *
     * @param output the {@link Checked#name()} measured
     * @param metric "nmse", "close" (max |c−r| against atol + rtol·|r|) or "bit-exact"
     * @param value  the NMSE, the largest |c−r|, or the number of differing elements
     * @param ratio  value against the tolerance: ≤ 1 is within it (0 = identical, +∞ = any
     *     difference where bit-exact was required, or a shape/dtype/NaN-pattern mismatch)
     */
    public record Measure(String output, String metric, double value, double ratio) {
        /** No difference at all (an op without outputs). */
        public static final Measure NONE = new Measure("-", "bit-exact", 0, 0);

        /** The larger of two measures by {@link #ratio}; null-tolerant. */
        public static Measure worse(Measure a, Measure b) {
            if (a == null) {
                return b;
            }
            if (b == null) {
                return a;
            }
            return Double.compare(b.ratio, a.ratio) > 0 ? b : a;
        }

        /** A short text for reports: {@code out: nmse 3.1e-12 (0.031 of tol)}. */
        public String describe() {
            String v = switch (metric) {
                case "bit-exact" -> value == 0 ? "bit-exact" : String.format("%d elements differ (bit-exact expected)",
                        (long) value);
                case "nmse" -> String.format("nmse %.2g", value);
                case "close" -> String.format("max |Δ| %.2g", value);
                case "shape" -> "shape or dtype differs";
                case "nan/inf pattern" -> "NaN/Inf pattern differs";
                default -> metric + " " + value;
            };
            if (value == 0 && !metric.equals("bit-exact")) {
                return output + ": identical";
            }
            if (metric.equals("bit-exact") || Double.isInfinite(ratio) || Double.isNaN(value)) {
                return output + ": " + v;
            }
            return String.format("%s: %s (%.2g of tol)", output, v, ratio);
        }
    }

    /** The worst {@link Measure} over every {@link Checked} output of a case (shapes must agree). */
    public static Measure measureOutputs(Instance reference, Instance candidate) {
        Measure worst = null;
        for (int i = 0; i < reference.outputs().size() && i < candidate.outputs().size(); i++) {
            Checked r = reference.outputs().get(i);
            Checked c = candidate.outputs().get(i);
            worst = Measure.worse(worst, measure(r.name(), r.tensor(), c.tensor(), r.tolerance()));
        }
        return worst == null ? Measure.NONE : worst;
    }

    /** Measures one output against the reference in the terms of its tolerance (see {@link Measure}). */
    public static Measure measure(String name, Tensor ref, Tensor cand, Tolerance tol) {
        if (!Arrays.equals(ref.shape(), cand.shape()) || ref.dtype() != cand.dtype()) {
            return new Measure(name, "shape", Double.NaN, Double.POSITIVE_INFINITY);
        }
        if (tol instanceof Tolerance.BitExact || !ref.dtype().isFloat() && ref.dtype() != DType.F8_E4M3) {
            byte[] a = Tensors.toBytes(ref);
            byte[] b = Tensors.toBytes(cand);
            int es = ref.dtype().byteSize();
            long differ = 0;
            for (int e = 0; e < a.length / es; e++) {
                if (!Arrays.equals(a, e * es, e * es + es, b, e * es, e * es + es)) {
                    differ++;
                }
            }
            return new Measure(name, "bit-exact", differ, differ == 0 ? 0 : Double.POSITIVE_INFINITY);
        }
        float[] r = Tensors.toFloats(ref);
        float[] c = Tensors.toFloats(cand);
        if (maskCanaries(name, ref.dtype(), r, c) != null) {
            return new Measure(name, "untouched element written", Double.NaN, Double.POSITIVE_INFINITY);
        }
        for (int i = 0; i < r.length; i++) {
            if (Float.isNaN(r[i]) != Float.isNaN(c[i]) || Float.isInfinite(r[i]) != Float.isInfinite(c[i])
                    || Float.isInfinite(r[i]) && r[i] != c[i]) {
                return new Measure(name, "nan/inf pattern", Double.NaN, Double.POSITIVE_INFINITY);
            }
        }
        return switch (tol) {
            case Tolerance.Nmse(double max) -> {
                double n = nmse(r, c);
                yield new Measure(name, "nmse", n, max > 0 ? n / max : n == 0 ? 0 : Double.POSITIVE_INFINITY);
            }
            case Tolerance.Close(double atol, double rtol) -> {
                double maxDiff = 0;
                double ratio = 0;
                for (int i = 0; i < r.length; i++) {
                    if (!Float.isFinite(r[i])) {
                        continue;
                    }
                    double d = Math.abs((double) c[i] - r[i]);
                    double allowed = atol + rtol * Math.abs(r[i]);
                    maxDiff = Math.max(maxDiff, d);
                    ratio = Math.max(ratio, allowed > 0 ? d / allowed : d == 0 ? 0 : Double.POSITIVE_INFINITY);
                }
                yield new Measure(name, "close", maxDiff, ratio);
            }
            case Tolerance.BitExact b -> throw new AssertionError("handled above");
        };
    }

    /**
     * Elements the reference left as canaries (rows of padded sequences, skipped slots) must be
     * canaries in the candidate too, bit for bit; they are then taken out of the NMSE and
     * atol/rtol sums (set to NaN in both arrays), where the huge canary value would otherwise hide
     * every real error. F16 and fp8 canaries are NaN already and go through the NaN-pattern check.
     *
     * @return null, or a message naming the first element the candidate wrote but should not have
     */
    static String maskCanaries(String name, DType dtype, float[] r, float[] c) {
        float canary = switch (dtype) {
            case F32 -> Float.intBitsToFloat(0x7F7F7F7F);
            case BF16 -> dev.jvllm.api.Numerics.bf16ToF32((short) 0x7F7F);
            default -> Float.NaN;
        };
        if (Float.isNaN(canary)) {
            return null;
        }
        for (int i = 0; i < r.length; i++) {
            if (r[i] == canary) {
                if (c[i] != canary) {
                    return name + ": element " + i + " is left untouched by the reference (canary) but the candidate "
                            + "wrote " + c[i];
                }
                r[i] = Float.NaN;
                c[i] = Float.NaN;
            }
        }
        return null;
    }

    /** The NMSE between two float arrays (Σ(c−r)² / Σr²), for reports. */
    public static double nmse(float[] r, float[] c) {
        double num = 0, den = 0;
        for (int i = 0; i < r.length; i++) {
            if (Float.isFinite(r[i]) && Float.isFinite(c[i])) {
                double d = (double) c[i] - r[i];
                num += d * d;
                den += (double) r[i] * r[i];
            }
        }
        return den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : num / den;
    }

    private static String element(Tensor t, int e) {
        if (t.dtype() == DType.I32) {
            return String.valueOf(Tensors.toInts(t)[e]);
        }
        if (t.dtype().isFloat() || t.dtype() == DType.F8_E4M3) {
            return String.valueOf(Tensors.toFloats(t)[e]);
        }
        return "byte " + Tensors.toBytes(t)[e * t.dtype().byteSize()];
    }
}
