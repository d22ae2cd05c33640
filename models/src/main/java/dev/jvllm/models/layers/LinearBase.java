package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Cast;
import dev.jvllm.api.ops.Copy;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.quant.LinearScheme;
import dev.jvllm.models.quant.QuantizedLinear;
import java.util.ArrayList;
import java.util.List;

/**
 * What the linear variants share: {@code out = x · Wᵀ + b} over this rank's part of W, where W is
 * held as one part per shard (q/k/v, gate/up, or a single part). Each part writes its own columns
 * of the output through a strided view, so separately stored q/k/v need no fused copy and a
 * memory-mapped checkpoint stays in place on the CPU; the parts go to the backend together
 * ({@code Backend.linears}), which on the CPU costs one parallel region per decode step, not one per
 * part. On other backends, where every weight is a device copy anyway, the full-precision parts of a
 * bias-free multi-shard layer are fused once loaded into one {@code [outFeatures, inFeatures]} weight
 * (each part then a row view of it), so q/k/v and gate/up take one GEMM instead of one per shard: a
 * decode's small GEMMs cost mostly their launch and tail. The variants differ only in which rows and
 * columns of each checkpoint tensor belong to this rank (vLLM's weight loaders).
 *
 * <p>The weight format comes from the checkpoint's quantization config by prefix (vLLM's
 * {@code quant_config.get_quant_method(layer, prefix)}): a full-precision layer declares
 * {@code weight}; a quantized one declares its format's tensors ({@code qweight}, {@code qzeros},
 * ..., see {@link LinearScheme}) and a {@link QuantizedLinear} repacks this rank's slice of each
 * shard into the linear op's format once the shard's tensors are in.
 */
public abstract class LinearBase extends Module {
    /**
     * Where one shard's rows come from and where its outputs go.
     *
     * @param id          the shard id checkpoint names map to (null for a single-part layer)
     * @param fullRows    rows this shard has in the checkpoint (all ranks together)
     * @param rowStart    first checkpoint row (within the shard) that this rank holds
     * @param rows        rows this rank holds = output columns of this part
     * @param outOffset   first output column of this part
     */
    protected record Shard(Object id, int fullRows, int rowStart, int rows, int outOffset) {
    }

    /** One loaded part. */
    private record Part(LinearWeight weight, Tensor bias) {
    }

    protected final int inFeatures;   // K of this rank
    protected final int outFeatures;  // N of this rank
    protected final boolean hasBias;
    private final List<Shard> shards;
    private final Part[] parts;
    private final int colStart;       // first checkpoint column this rank holds (row-parallel)
    private final int fullCols;
    private final boolean transposedOnDisk;
    private final LinearScheme scheme;
    /** vLLM's {@code params_dtype} where a layer fixes it (MiniMax's f32 router); null: the context's weight dtype. */
    private DType paramsDType;
    private LinearWeight fused;       // every part in one weight (see the class comment), or null

    /**
     * @param colStart, fullCols  the K range of the checkpoint this rank reads: [colStart, colStart+inFeatures) of fullCols
     * @param transposedOnDisk    GPT-2's Conv1D stores W as [K, N]
     */
    protected LinearBase(ModelContext ctx, String prefix, int inFeatures, int fullCols, int colStart, boolean bias,
            List<Shard> shards, boolean transposedOnDisk) {
        super(ctx, prefix);
        this.inFeatures = inFeatures;
        this.fullCols = fullCols;
        this.colStart = colStart;
        this.hasBias = bias;
        this.shards = List.copyOf(shards);
        this.transposedOnDisk = transposedOnDisk;
        this.parts = new Part[shards.size()];
        int n = 0;
        for (Shard s : shards) {
            n = Math.max(n, s.outOffset() + s.rows());
        }
        this.outFeatures = n;
        Object[] ids = shards.size() == 1 && shards.get(0).id() == null ? new Object[0]
                : shards.stream().map(Shard::id).toArray();
        this.scheme = ctx.quantization().schemeFor(prefix, shards.size());
        if (scheme instanceof LinearScheme.Dense) {
            param("weight", (t, id) -> loadShards(t, id, false), ids);
        } else {
            if (transposedOnDisk) {
                throw new IllegalArgumentException(prefix + ": quantized Conv1D weights (stored [in, out], GPT-2 style) "
                        + "are not supported");
            }
            QuantizedLinear q = new QuantizedLinear(prefix, scheme, ctx.backend(), ctx::own, shards.stream()
                    .map(s -> new QuantizedLinear.ShardRows(s.fullRows(), s.rowStart(), s.rows())).toList(),
                    fullCols, colStart, inFeatures, this::setWeight);
            for (String name : scheme.requiredTensors()) {
                param(name, (t, id) -> q.accept(name, t, shardIndex(id)), ids);
            }
            for (String name : scheme.optionalTensors()) {
                optionalParam(name, (t, id) -> q.accept(name, t, shardIndex(id)), ids);
            }
        }
        if (bias) {
            param("bias", (t, id) -> loadShards(t, id, true), ids);
        }
    }

    /** K of this rank. */
    public int inFeatures() {
        return inFeatures;
    }

    /** N of this rank (the width of {@link #forward}'s output). */
    public int outFeatures() {
        return outFeatures;
    }

    /** How the checkpoint stores this layer (full precision, or a quantized format). */
    public LinearScheme scheme() {
        return scheme;
    }

    /** This rank's weight of each shard, in the format the linear op consumes (null before loading). */
    public List<LinearWeight> weights() {
        return java.util.Arrays.stream(parts).map(p -> p == null ? null : p.weight()).toList();
    }

    /** Whether this rank adds the bias (row-parallel layers add it on rank 0 only). */
    protected boolean addsBias() {
        return hasBias;
    }

    /** out [T, outFeatures] = x [T, inFeatures] · Wᵀ (+ b), for this rank's part. */
    public void forward(Tensor x, Tensor out) {
        Backend b = ctx.backend();
        if (fused != null) {
            b.linear(new Linear(x, fused, null, out));
            return;
        }
        List<Linear> ops = new ArrayList<>(parts.length);
        for (int i = 0; i < parts.length; i++) {
            Part p = parts[i];
            if (p == null || p.weight() == null) {
                throw new IllegalStateException("linear " + prefix + ": weights not loaded");
            }
            Shard s = shards.get(i);
            Tensor o = parts.length == 1 && s.rows() == out.cols() ? out : out.narrowLast(s.outOffset(), s.rows());
            ops.add(new Linear(x, p.weight(), addsBias() ? p.bias() : null, o));
        }
        if (ops.size() == 1) {
            b.linear(ops.get(0));
        } else if (!ops.isEmpty()) {
            b.linears(ops); // the CPU runs a decode's shards as one parallel region
        }
    }

    private void loadShards(CheckpointTensor t, Object id, boolean isBias) {
        boolean fused = id == null && shards.size() > 1; // fused on disk: [shard0 rows; shard1 rows; ...]
        int first = fused ? 0 : indexOf(id);
        checkRows(t, fused ? shards.stream().mapToInt(Shard::fullRows).sum() : shards.get(first).fullRows(), isBias);
        // a Conv1D weight is transposed on the host: decode it once for all the shards it fills
        float[] transposedSource = transposedOnDisk && !isBias ? t.toFloatArray() : null;
        if (!fused) {
            loadPart(first, t, shards.get(first).rowStart(), isBias, transposedSource);
        } else {
            int base = 0;
            for (int i = 0; i < shards.size(); i++) {
                loadPart(i, t, base + shards.get(i).rowStart(), isBias, transposedSource);
                base += shards.get(i).fullRows();
            }
        }
        if (!isBias) {
            fuseWhenComplete();
        }
    }

    /**
     * Once every part's dense weight is in, on a backend that copies weights to its device: copies them
     * into one weight whose rows follow the output columns, frees the parts' copies and keeps row
     * views of the fused weight as the parts. Layers with a bias, quantized parts or parts that do
     * not tile the output in order keep one GEMM per part.
     */
    private void fuseWhenComplete() {
        Backend b = ctx.backend();
        if (parts.length < 2 || hasBias || b.wrapsInPlace()) {
            return;
        }
        DType dtype = null;
        int next = 0;
        for (int i = 0; i < parts.length; i++) {
            if (parts[i] == null || !(parts[i].weight() instanceof LinearWeight.Dense d) || !d.w().isContiguous()
                    || (dtype != null && d.w().dtype() != dtype) || shards.get(i).outOffset() != next) {
                return;
            }
            dtype = d.w().dtype();
            next += shards.get(i).rows();
        }
        Tensor all = ctx.own(b.allocate(dtype, outFeatures, inFeatures));
        for (int i = 0; i < parts.length; i++) {
            Tensor w = ((LinearWeight.Dense) parts[i].weight()).w();
            Tensor rows = all.slice(shards.get(i).outOffset(), shards.get(i).rows());
            b.copy(new Copy(w, rows));
            w.close(); // a device copy the context also owns: closing it again there is a no-op
            parts[i] = new Part(new LinearWeight.Dense(rows), null);
        }
        fused = new LinearWeight.Dense(all);
    }

    /** The shard a tensor fills: its index, or -1 for a tensor that stores every shard (fused on disk). */
    private int shardIndex(Object id) {
        if (id == null) {
            return shards.size() > 1 ? -1 : 0;
        }
        return indexOf(id);
    }

    private void setWeight(int shard, LinearWeight w) {
        Part old = parts[shard];
        parts[shard] = new Part(w, old == null ? null : old.bias());
    }

    private int indexOf(Object id) {
        for (int i = 0; i < shards.size(); i++) {
            if (java.util.Objects.equals(shards.get(i).id(), id)) {
                return i;
            }
        }
        throw new IllegalArgumentException("linear " + prefix + " has no shard " + id);
    }

    private void checkRows(CheckpointTensor t, int rows, boolean isBias) {
        long[] shape = t.shape();
        boolean ok;
        String expected;
        if (isBias) {
            ok = shape.length == 1 && shape[0] == rows;
            expected = "[" + rows + "]";
        } else if (transposedOnDisk) {
            ok = shape.length == 2 && shape[0] == fullCols && shape[1] == rows;
            expected = "[" + fullCols + ", " + rows + "] (Conv1D layout: [in, out])";
        } else {
            ok = shape.length == 2 && shape[0] == rows && shape[1] == fullCols;
            expected = "[" + rows + ", " + fullCols + "]";
        }
        if (!ok) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString() + ", expected "
                    + expected + " for " + prefix + " (check hidden_size/intermediate_size/heads in config.json)");
        }
    }

    private void loadPart(int i, CheckpointTensor t, int rowStart, boolean isBias, float[] transposedSource) {
        Shard s = shards.get(i);
        Part old = parts[i];
        if (isBias) {
            Tensor bias = floatSlice(t, rowStart, s.rows(), 0, 1, null);
            parts[i] = new Part(old == null ? null : old.weight(), bias);
        } else {
            Tensor w = floatSlice(t, rowStart, s.rows(), colStart, inFeatures, transposedSource);
            parts[i] = new Part(new LinearWeight.Dense(w), old == null ? null : old.bias());
        }
    }

    /**
     * Keeps this layer's dense weight in {@code dtype} whatever the model's dtype, as vLLM's
     * {@code params_dtype=torch.float32} does for some routers. Call before loading; quantized
     * layers cannot take it.
     */
    protected final void keepWeightIn(DType dtype) {
        if (!(scheme instanceof LinearScheme.Dense)) {
            throw new IllegalStateException(prefix() + ": a quantized layer's weight dtype is its format's");
        }
        paramsDType = dtype;
    }

    /**
     * Rows [rowStart, rowStart+rows) × columns [c0, c0+cols) of a checkpoint matrix (or a 1-D
     * range of a vector when cols == 1 and it is 1-D), as a backend tensor in the weight dtype.
     * Zero-copy on the CPU when the dtype is kept: the row range is a contiguous slice of the
     * mapping and the column range a strided view of it. {@code transposedSource} is the decoded
     * [K, N] Conv1D tensor, given only for weights stored transposed.
     */
    private Tensor floatSlice(CheckpointTensor t, int rowStart, int rows, int c0, int cols, float[] transposedSource) {
        Backend b = ctx.backend();
        DType src = t.dtype();
        if (!src.isFloat()) {
            throw new IllegalArgumentException("tensor " + t.name() + " is " + src + "; dense linear weights must be "
                    + "F32, F16 or BF16 (quantized checkpoints need a quantization config)");
        }
        DType dst = t.rank() == 1 ? ctx.activationDType() : paramsDType != null ? paramsDType : ctx.weightDType(src);
        if (t.rank() == 1) {
            long es = src.byteSize();
            Tensor v = b.wrap(t.data().asSlice(rowStart * es, rows * es), src, rows);
            return convert(v, dst);
        }
        if (transposedSource != null) { // [K, N] on disk → W [rows, cols] by a host transpose
            float[] all = transposedSource;
            int n = (int) t.dim(1);
            float[] w = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    w[r * cols + c] = all[(c0 + c) * n + rowStart + r];
                }
            }
            return ctx.own(Tensors.fromFloats(b, dst, w, rows, cols));
        }
        long rowBytes = (long) fullCols * src.byteSize();
        Tensor block = b.wrap(t.data().asSlice(rowStart * rowBytes, rows * rowBytes), src, rows, fullCols);
        Tensor v = cols == fullCols ? block : block.narrowLast(c0, cols);
        return convert(v, dst);
    }

    /** v came from {@code wrap}: host memory in place on the CPU (closing it is a no-op), a device copy elsewhere. */
    private Tensor convert(Tensor v, DType dst) {
        ctx.own(v);
        if (v.dtype() == dst) {
            return v;
        }
        Tensor out = ctx.own(ctx.backend().allocate(dst, v.shape()));
        ctx.backend().cast(new Cast(v, out));
        return out;
    }
}
