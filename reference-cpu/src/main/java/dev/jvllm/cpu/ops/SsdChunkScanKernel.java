package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.SsdChunkScan;
import dev.jvllm.cpu.CpuContext;

/**
 * CPU reference for {@link SsdChunkScan} (vLLM's {@code mamba_chunk_scan_combined_varlen}): the
 * token recurrence of {@link SsdCore} per sequence; the scalar form is the Javadoc loop, the SIMD
 * form runs (sequence, head) tasks vectorized over the state dimension. {@code chunkSize} is
 * accepted and ignored: the recurrence is the specification and needs no chunking. x, dt, B, C and
 * out may be F32, BF16 or F16 in any mix; A, D, dtBias and the state are F32.
 */
public final class SsdChunkScanKernel {
    private SsdChunkScanKernel() {
    }

    public static boolean supports(SsdChunkScan a) {
        return ScanIo.allFloat(a.x(), a.dt(), a.B(), a.C(), a.out());
    }

    public static void run(SsdChunkScan a, CpuContext ctx) {
        if (!supports(a)) {
            throw new UnsupportedOperationException("ssd_chunk_scan: x, dt, B, C and out must be F32, BF16 or F16; "
                    + "got x " + a.x().describe() + ", B " + a.B().describe());
        }
        ScanBatch sb = ScanBatch.of("ssd_chunk_scan", a.batch(), a.x().dim(0), a.ssmStates().dim(0));
        new SsdCore(a.x(), a.dt(), a.B(), a.C(), a.ssmStates(), a.out(), ScanIo.floats(a.A()), ScanIo.floats(a.D()),
                ScanIo.floats(a.dtBias()), a.dtSoftplus(), a.dtMin(), a.dtMax(), a.numHeads(), a.headDim(),
                a.stateSize(), a.nGroups()).run(sb, ctx);
    }
}
