package dev.jvllm.models.quant;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.quant.LinearScheme.Fp8Activation;
import dev.jvllm.models.quant.LinearScheme.Packing;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

/**
 * The weight loader of one quantized linear layer (vLLM's quant method {@code create_weights} +
 * {@code process_weights_after_loading}): it collects each shard's checkpoint tensors as they
 * arrive and, once a shard has all it needs, repacks this rank's slice into the
 * {@link LinearWeight} the linear op consumes. Weights stay quantized: int4 as 8 values per int32
 * word, int8 and fp8 as one byte (used in place from the checkpoint mapping on the CPU when the
 * layout already matches), scales in their checkpoint dtype (fp8/int8 scales as f32).
 *
 * <p>Fused layers keep one part per shard, each with its own scales, so per-shard fp8 per-tensor
 * scales are used exactly as stored; vLLM instead requantizes q|k|v to their max scale because its
 * fused GEMM takes one scale (a second rounding we avoid). A static activation scale is per layer:
 * x is quantized once for all shards with the shards' max {@code input_scale}, as vLLM does.
 */
public final class QuantizedLinear {

    /**
     * One shard's rows: the module has {@code fullRows} output rows in the checkpoint, this rank
     * holds {@code rows} of them from {@code rowStart}.
     */
    public record ShardRows(int fullRows, int rowStart, int rows) {
    }

    /** A stashed tensor and where the shard's rows sit in it (fused-on-disk tensors stack the shards). */
    private record Src(CheckpointTensor t, int rowBase, int n) {
    }

    private final String prefix;
    private final LinearScheme scheme;
    private final Backend backend;
    private final UnaryOperator<Tensor> own;
    private final List<ShardRows> shards;
    private final int fullCols;
    private final int colStart;
    private final int cols;
    private final BiConsumer<Integer, LinearWeight> built;
    private final List<Map<String, Src>> stash = new ArrayList<>();
    private final boolean[] done;
    private final Tensor inputScale; // STATIC fp8 only: F32 [1], the max over the shards seen so far
    private float inputScaleMax;

    /**
     * @param prefix   the layer's prefix, for messages
     * @param own      registers a tensor with the model (closed with it)
     * @param fullCols K of the checkpoint; this rank reads columns [colStart, colStart + cols)
     * @param built    receives (shard index, weight) when a shard is complete
     */
    public QuantizedLinear(String prefix, LinearScheme scheme, Backend backend, UnaryOperator<Tensor> own,
            List<ShardRows> shards, int fullCols, int colStart, int cols, BiConsumer<Integer, LinearWeight> built) {
        if (scheme instanceof LinearScheme.Dense) {
            throw new IllegalArgumentException(prefix + ": a full-precision layer has no quantized loader");
        }
        this.prefix = prefix;
        this.scheme = scheme;
        this.backend = backend;
        this.own = own;
        this.shards = List.copyOf(shards);
        this.fullCols = fullCols;
        this.colStart = colStart;
        this.cols = cols;
        this.built = built;
        this.done = new boolean[shards.size()];
        for (int i = 0; i < shards.size(); i++) {
            stash.add(new HashMap<>());
        }
        this.inputScale = scheme instanceof LinearScheme.Fp8 f && f.activation() == Fp8Activation.STATIC
                ? own.apply(backend.allocate(DType.F32, 1)) : null;
    }

    /**
     * Takes one checkpoint tensor of the layer.
     *
     * @param local its local name ({@code qweight}, {@code weight_scale}, ...)
     * @param shard the shard index, or -1 for a tensor that stores every shard stacked by rows
     */
    public void accept(String local, CheckpointTensor t, int shard) {
        if (scheme.optionalTensors().contains(local)) {
            checkOptional(local, t);
            return;
        }
        if (local.equals("input_scale")) {
            takeInputScale(t);
        }
        if (shard >= 0) {
            stash.get(shard).put(local, new Src(t, 0, shards.get(shard).fullRows()));
            maybeBuild(shard);
            return;
        }
        int total = shards.stream().mapToInt(ShardRows::fullRows).sum();
        int base = 0;
        for (int i = 0; i < shards.size(); i++) {
            stash.get(i).put(local, new Src(t, base, total));
            base += shards.get(i).fullRows();
        }
        for (int i = 0; i < shards.size(); i++) {
            maybeBuild(i);
        }
    }

    private void maybeBuild(int i) {
        if (done[i] || !stash.get(i).keySet().containsAll(scheme.requiredTensors())) {
            return;
        }
        Map<String, Src> m = stash.get(i);
        Src main = m.get(scheme.requiredTensors().get(0));
        ShardRows r = shards.get(i);
        Repack.Slice s = new Repack.Slice(main.n(), main.rowBase() + r.rowStart(), r.rows(), fullCols, colStart, cols);
        Map<String, CheckpointTensor> t = new HashMap<>();
        m.forEach((k, v) -> t.put(k, v.t()));
        LinearWeight w = switch (scheme) {
            case LinearScheme.Fp8 f -> fp8(f, t, s);
            case LinearScheme.Int4 q -> int4(q, t, s);
            case LinearScheme.Int8 q -> int8(q, t, s);
            case LinearScheme.Dense d -> throw new IllegalStateException();
        };
        done[i] = true;
        stash.get(i).clear(); // the mapping stays alive with the model; the stash need not
        built.accept(i, w);
    }

    private void checkOptional(String local, CheckpointTensor t) {
        switch (local) {
            case "g_idx" -> Repack.checkSequential(t, fullCols,
                    scheme instanceof LinearScheme.Int4 q ? q.groupSize() : -1, "desc_act");
            case "weight_g_idx" -> Repack.checkSequential(t, fullCols, ((LinearScheme.Int4) scheme).groupSize(),
                    "actorder");
            case "input_scale" -> {
                // dynamic activations compute their scale per token; a calibrated one is not used
            }
            default -> throw new IllegalStateException(local);
        }
    }

    private void takeInputScale(CheckpointTensor t) {
        Repack.expectFloat(t, "fp8 static activation scale");
        if (t.numel() != 1) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString()
                    + ", expected one value (activation_scheme static uses one input scale per layer)");
        }
        float v = Repack.real(t, 0);
        if (!(v > 0) || !Float.isFinite(v)) {
            throw new IllegalArgumentException("tensor " + t.name() + " = " + v + "; an input scale must be positive and finite");
        }
        inputScaleMax = Math.max(inputScaleMax, v);
        Tensors.writeFloats(inputScale, new float[] {inputScaleMax});
    }

    // ---- formats ----

    private LinearWeight fp8(LinearScheme.Fp8 f, Map<String, CheckpointTensor> t, Repack.Slice s) {
        CheckpointTensor w = t.get("weight");
        Repack.expectDType(w, "fp8 e4m3 weights; quantization_config says this layer is " + f.describe(), DType.F8_E4M3);
        Repack.expect(w, "[out, in] of " + prefix, s.n(), s.k());
        Tensor wt = own.apply(backend.wrap(w.data(), DType.F8_E4M3, s.n(), s.k())).slice(s.r0(), s.rows());
        if (s.cols() != s.k()) {
            wt = wt.narrowLast(s.c0(), s.cols());
        }
        CheckpointTensor sc = t.get(f.scaleName());
        Repack.expectFloat(sc, "fp8 weight scales");
        Tensor scale = switch (f.scales()) {
            case TENSOR -> {
                if (sc.numel() != 1) {
                    throw new IllegalArgumentException("tensor " + sc.name() + " has shape " + sc.shapeString()
                            + ", expected one value (per-tensor fp8 scale)");
                }
                yield floats(new float[] {Repack.real(sc, 0)}, DType.F32, 1);
            }
            case CHANNEL -> {
                if (sc.numel() != s.n() || sc.rank() > 2 || (sc.rank() == 2 && sc.dim(1) != 1)) {
                    throw new IllegalArgumentException("tensor " + sc.name() + " has shape " + sc.shapeString()
                            + ", expected [" + s.n() + "] or [" + s.n() + ", 1] (one fp8 scale per output channel)");
                }
                yield floats(Repack.channelScales(sc, s), DType.F32, s.rows());
            }
            case BLOCK -> {
                Repack.expect(sc, f.blockN() + "x" + f.blockK() + " blocks of weight_block_size over [" + s.n() + ", "
                        + s.k() + "]", Math.ceilDiv(s.n(), f.blockN()), Math.ceilDiv(s.k(), f.blockK()));
                yield floats(Repack.blockScales(prefix, sc, s, f.blockN(), f.blockK()), DType.F32,
                        Math.ceilDiv(s.rows(), f.blockN()), Math.ceilDiv(s.cols(), f.blockK()));
            }
        };
        boolean block = f.scales() == LinearScheme.Fp8Scales.BLOCK;
        // per-token groups are blockK columns of this rank's slice, which starts on a block boundary,
        // so a row-parallel rank quantizes exactly the groups tp=1 quantizes over its columns
        boolean grouped = f.activation() == Fp8Activation.DYNAMIC_PER_TOKEN_GROUP;
        return new LinearWeight.Fp8(wt, scale, block ? f.blockN() : 0, block ? f.blockK() : 0, inputScale,
                f.activation() == Fp8Activation.DYNAMIC_PER_TOKEN || grouped, grouped ? f.blockK() : 0);
    }

    private LinearWeight int4(LinearScheme.Int4 q, Map<String, CheckpointTensor> t, Repack.Slice s) {
        if (s.k() % 8 != 0 || s.c0() % 8 != 0 || s.cols() % 8 != 0) {
            throw new IllegalArgumentException(prefix + ": int4 weights need the input size (" + s.k()
                    + ") and this rank's columns [" + s.c0() + ", " + (s.c0() + s.cols())
                    + ") in multiples of 8 (8 values per int32 word); choose another tensor_parallel_size");
        }
        int groupsTotal = q.groupSize() == -1 ? 1 : Math.ceilDiv(s.k(), q.groupSize());
        CheckpointTensor qweight;
        CheckpointTensor scales;
        CheckpointTensor zeros;
        CheckpointTensor gIdx;
        int[] packed;
        switch (q.packing()) {
            case GPTQ, AWQ -> {
                boolean gptq = q.packing() == Packing.GPTQ;
                qweight = t.get("qweight");
                scales = t.get("scales");
                zeros = t.get("qzeros");
                gIdx = t.get("g_idx");
                Repack.expectDType(qweight, "packed int4 words", DType.I32);
                if (gptq) {
                    Repack.expect(qweight, "GPTQ packs 8 int4 values along the input dim: [in/8, out]", s.k() / 8, s.n());
                } else {
                    Repack.expect(qweight, "AWQ packs 8 int4 values along the output dim: [in, out/8]", s.k(), s.n() / 8);
                }
                Repack.expectDType(zeros, "packed int4 zero points", DType.I32);
                Repack.expect(zeros, "[groups, out/8] zero points", groupsTotal, Math.ceilDiv(s.n(), 8));
                Repack.expectFloat(scales, "group scales");
                Repack.expect(scales, "[groups, out] scales, groups = in / group_size", groupsTotal, s.n());
                packed = gptq ? Repack.gptqQweight(qweight, s) : Repack.awqQweight(qweight, s);
            }
            case PACKED -> {
                qweight = t.get("weight_packed");
                scales = t.get("weight_scale");
                zeros = t.get("weight_zero_point");
                gIdx = t.get("weight_g_idx");
                checkWeightShape(t.get("weight_shape"), s);
                Repack.expectDType(qweight, "packed int4 words", DType.I32);
                Repack.expect(qweight, "pack-quantized stores [out, in/8] int32 words", s.n(), s.k() / 8);
                Repack.expectFloat(scales, "group scales");
                Repack.expect(scales, "[out, groups] scales", s.n(), groupsTotal);
                if (zeros != null) {
                    Repack.expectDType(zeros, "packed int4 zero points", DType.I32);
                    Repack.expect(zeros, "zero points packed along the output dim: [out/8, groups]",
                            Math.ceilDiv(s.n(), 8), groupsTotal);
                }
                packed = Repack.packedQweight(qweight, s);
            }
            default -> throw new IllegalStateException(q.packing().name());
        }
        if (gIdx != null) {
            Repack.expect(gIdx, "one group index per input column", s.k());
            Repack.expectDType(gIdx, "group indices", DType.I32, DType.I64);
        }
        Repack.Groups g = Repack.groups(prefix, s, q.groupSize(), gIdx, groupsTotal);
        float[] sc = q.packing() == Packing.PACKED ? Repack.scalesRowMajor(scales, s, g, groupsTotal)
                : Repack.scalesGroupMajor(scales, s, g);
        Tensor zp = null;
        if (zeros != null) {
            int offset = q.packing() == Packing.GPTQ && q.gptqV1() ? 1 : 0;
            byte[] z = Repack.zeros4(zeros, s, g, q.packing(), offset, groupsTotal);
            if (!Repack.allSymmetric(z)) {
                zp = own.apply(Tensors.fromBytes(backend, DType.U8, z, s.rows(), g.count()));
            }
        }
        return new LinearWeight.Int4(
                own.apply(Tensors.fromInts(backend, packed, s.rows(), s.cols() / 8)),
                floats(sc, scales.dtype(), s.rows(), g.count()),
                zp,
                g.gIdx() == null ? null : own.apply(Tensors.fromInts(backend, g.gIdx(), s.cols())),
                g.size());
    }

    private LinearWeight int8(LinearScheme.Int8 q, Map<String, CheckpointTensor> t, Repack.Slice s) {
        Tensor w;
        CheckpointTensor scales;
        switch (q.packing()) {
            case GPTQ -> {
                CheckpointTensor qweight = t.get("qweight");
                Repack.expectDType(qweight, "packed int8 words", DType.I32);
                Repack.expect(qweight, "GPTQ packs 4 int8 values along the input dim: [in/4, out]", s.k() / 4, s.n());
                CheckpointTensor qzeros = t.get("qzeros");
                Repack.expectDType(qzeros, "packed int8 zero points", DType.I32);
                Repack.expect(qzeros, "group_size -1: one row of zero points", 1, Math.ceilDiv(s.n(), 4));
                scales = t.get("scales");
                Repack.expect(scales, "group_size -1: one row of scales", 1, s.n());
                w = own.apply(Tensors.fromBytes(backend, DType.I8,
                        Repack.gptqInt8(qweight, qzeros, s, q.gptqV1() ? 1 : 0), s.rows(), s.cols()));
            }
            case PACKED -> {
                CheckpointTensor packed = t.get("weight_packed");
                checkWeightShape(t.get("weight_shape"), s);
                Repack.expectDType(packed, "packed int8 words", DType.I32);
                if (s.k() % 4 != 0) {
                    throw new IllegalArgumentException(prefix + ": 8-bit pack-quantized weights need an input size that "
                            + "is a multiple of 4, got " + s.k());
                }
                Repack.expect(packed, "pack-quantized stores [out, in/4] int32 words", s.n(), s.k() / 4);
                scales = t.get("weight_scale");
                w = own.apply(Tensors.fromBytes(backend, DType.I8, Repack.packedInt8(packed, s), s.rows(), s.cols()));
            }
            case PLAIN -> {
                CheckpointTensor plain = t.get("weight");
                Repack.expectDType(plain, "int8 weights; quantization_config says this layer is " + q.describe(), DType.I8);
                Repack.expect(plain, "[out, in] of " + prefix, s.n(), s.k());
                scales = t.get("weight_scale");
                w = own.apply(backend.wrap(plain.data(), DType.I8, s.n(), s.k())).slice(s.r0(), s.rows());
                if (s.cols() != s.k()) {
                    w = w.narrowLast(s.c0(), s.cols());
                }
            }
            default -> throw new IllegalStateException(q.packing().name());
        }
        Repack.expectFloat(scales, "per-channel int8 scales");
        if (scales.numel() != s.n()) {
            throw new IllegalArgumentException("tensor " + scales.name() + " has shape " + scales.shapeString()
                    + ", expected one scale per output channel (" + s.n() + "); the int8 linear op is per-channel only");
        }
        return new LinearWeight.Int8(w, floats(Repack.channelScales(scales, s), DType.F32, s.rows()));
    }

    private void checkWeightShape(CheckpointTensor shape, Repack.Slice s) {
        Repack.expectDType(shape, "the unpacked [out, in] shape", DType.I32, DType.I64);
        Repack.expect(shape, "the unpacked [out, in] shape", 2);
        if (Repack.integer(shape, 0) != s.n() || Repack.integer(shape, 1) != s.k()) {
            throw new IllegalArgumentException("tensor " + shape.name() + " = [" + Repack.integer(shape, 0) + ", "
                    + Repack.integer(shape, 1) + "], but " + prefix + " is [" + s.n() + ", " + s.k()
                    + "] (check hidden_size/intermediate_size/heads in config.json)");
        }
    }

    private Tensor floats(float[] v, DType dtype, int... shape) {
        return own.apply(Tensors.fromFloats(backend, dtype, v, shape));
    }
}
