package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Mamba-2 SSD scan over a varlen flat batch (vLLM's {@code mamba_chunk_scan_combined_varlen}).
 *
 * <p>H heads of P channels, G groups of state size N; head h uses group {@code g = h / (H/G)}.
 * Per sequence (state from {@code ssmStates[slot]} or zeros), per token t (all f32):
 * <pre>
 *   Δ = dt[t,h] + dtBias[h];  if dtSoftplus: Δ = softplus(Δ);  Δ = clamp(Δ, dtMin, dtMax)
 *   h[h,p,n] = exp(Δ · A[h]) · h[h,p,n] + Δ · B[t,g,n] · x[t,h,p]
 *   y[t,h,p] = Σ_n C[t,g,n] · h[h,p,n] + D[h] · x[t,h,p]
 * </pre>
 * The recurrence above is the specification; a backend may evaluate it chunk-wise with
 * {@code chunkSize} (chunks aligned to each sequence's start), which changes only rounding.
 * Final states are written back. The z gate is applied afterwards by {@link GatedRmsNorm}.
 *
 * <p>x, out: [T, H·P]; dt: [T, H]; A: F32 [H]; B, C: [T, G·N]; D, dtBias: F32 [H] or null;
 * ssmStates: F32 [S, H, P, N]. dtMax may be +Inf (no clamp).
 */
public record SsdChunkScan(Tensor x, Tensor dt, Tensor A, Tensor B, Tensor C, Tensor D, Tensor dtBias,
        boolean dtSoftplus, float dtMin, float dtMax, int nGroups, int chunkSize, Tensor ssmStates,
        StateBatch batch, Tensor out) implements OpArgs {
    public SsdChunkScan {
        String op = "ssd_chunk_scan";
        Check.rank(op, "dt", Check.nonNull(op, "dt", dt), 2);
        int t = dt.dim(0), h = dt.cols();
        Check.shape(op, "A", Check.nonNull(op, "A", A), h);
        Check.dtype(op, "A", A, DType.F32);
        Check.rank(op, "ssmStates", Check.nonNull(op, "ssmStates", ssmStates), 4);
        Check.dtype(op, "ssmStates", ssmStates, DType.F32);
        Check.contiguous(op, "ssmStates", ssmStates);
        int p = ssmStates.dim(2), n = ssmStates.dim(3);
        Check.shape(op, "ssmStates", ssmStates, -1, h, p, n);
        Check.shape(op, "x", Check.nonNull(op, "x", x), t, h * p);
        Check.positive(op, "nGroups", nGroups);
        Check.that(h % nGroups == 0, op, "heads=" + h + " not divisible by nGroups=" + nGroups);
        Check.shape(op, "B", Check.nonNull(op, "B", B), t, nGroups * n);
        Check.shape(op, "C", Check.nonNull(op, "C", C), t, nGroups * n);
        Check.shape(op, "D", D, h);
        Check.shape(op, "dtBias", dtBias, h);
        Check.dtype(op, "D", D, DType.F32);
        Check.dtype(op, "dtBias", dtBias, DType.F32);
        Check.positive(op, "chunkSize", chunkSize);
        Check.that(dtMin <= dtMax, op, "dtMin " + dtMin + " > dtMax " + dtMax);
        Check.that(batch != null, op, "batch must not be null");
        Check.sameShape(op, "x", x, "out", Check.nonNull(op, "out", out));
    }

    public int numHeads() {
        return dt.cols();
    }

    public int headDim() {
        return ssmStates.dim(2);
    }

    public int stateSize() {
        return ssmStates.dim(3);
    }

    @Override
    public OpKind kind() {
        return OpKind.SSD_CHUNK_SCAN;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out, ssmStates);
    }
}
