package dev.jvllm.models.layers;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Rotary;
import dev.jvllm.models.loader.RopeScaling;

/**
 * Rotary position embedding: the cos/sin cache built in Java for the config's scaling type, and
 * the backend's rotary op applied to q and k.
 *
 * <p>Frequencies: {@code inv_freq[i] = base^(−2i/rotaryDim)}, i &lt; rotaryDim/2, then per type
 * (the formulas of transformers' {@code _compute_*_parameters} and vLLM's rotary classes):
 * <ul>
 *   <li>default — unchanged;</li>
 *   <li>linear — positions divided by {@code factor};</li>
 *   <li>dynamic (NTK) — positions below {@code max_position_embeddings} use the plain frequencies
 *       (what transformers computes for them); the cache beyond uses the base scaled for a
 *       context of {@code factor × max_position_embeddings} (vLLM's static form);</li>
 *   <li>yarn — per-dim blend of interpolated and extrapolated frequencies over the
 *       beta_fast/beta_slow correction range, cos/sin scaled by {@code attention_factor}
 *       (default {@code 0.1·ln(factor) + 1});</li>
 *   <li>llama3 — frequencies of long wavelengths divided by {@code factor}, a smooth ramp between
 *       {@code low_freq_factor} and {@code high_freq_factor};</li>
 *   <li>longrope — per-dim {@code short_factor} / {@code long_factor} divisors, two caches; a batch
 *       uses the long one when any position reaches {@code original_max_position_embeddings}
 *       (vLLM's rule), cos/sin scaled by {@code sqrt(1 + ln(s)/ln(original))}, s = max/original.</li>
 * </ul>
 * Cache rows: {@code [cos(p·f_0..f_{d/2−1}) | sin(p·f_0..)]}, F32, computed in double.
 */
public final class RotaryEmbedding {
    private final int headSize;
    private final int rotaryDim;
    private final boolean neox;
    private final Tensor cache;     // F32 [maxPositions, rotaryDim]
    private final Tensor longCache; // longrope only, else null
    private final int longFrom;     // positions >= this switch a batch to longCache

    /**
     * The model's one rotary embedding with these parameters: an instance is immutable, so layers
     * share it (its cache is [maxPositions, rotaryDim] f32, 32 MiB for 131072 positions at 64: one
     * per layer cost Llama-3.2-1B half a GB).
     *
     * @param headSize     channels per head
     * @param rotaryDim    rotated channels per head (headSize × partial_rotary_factor)
     * @param maxPositions rows of the cache (max_position_embeddings, or larger for scaled contexts)
     * @param base         rope_theta
     * @param neox         true: rotate halves (neox / Llama); false: interleaved pairs (GPT-J)
     */
    public static RotaryEmbedding shared(ModelContext ctx, int headSize, int rotaryDim, int maxPositions, double base,
            RopeScaling scaling, boolean neox) {
        Key key = new Key(headSize, rotaryDim, maxPositions, base, scaling, neox);
        return ctx.shared(key, () -> new RotaryEmbedding(ctx, key));
    }

    /** Everything the cache is derived from. */
    private record Key(int headSize, int rotaryDim, int maxPositions, double base, RopeScaling scaling, boolean neox) {
    }

    private RotaryEmbedding(ModelContext ctx, Key key) {
        int headSize = key.headSize(), rotaryDim = key.rotaryDim(), maxPositions = key.maxPositions();
        double base = key.base();
        RopeScaling scaling = key.scaling();
        boolean neox = key.neox();
        if (rotaryDim % 2 != 0 || rotaryDim > headSize || rotaryDim <= 0) {
            throw new IllegalArgumentException("rotary dim " + rotaryDim + " must be even and in (0, head_dim="
                    + headSize + "] (check partial_rotary_factor in config.json)");
        }
        this.headSize = headSize;
        this.rotaryDim = rotaryDim;
        this.neox = neox;
        int half = rotaryDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(base, 2.0 * i / rotaryDim);
        }
        RopeScaling s = scaling == null ? RopeScaling.NONE : scaling;
        int rows = maxPositions;
        Tensor longC = null;
        Tensor cacheHolder;
        int from = Integer.MAX_VALUE;
        switch (s.type()) {
            case DEFAULT -> cacheHolder = build(ctx, inv, rows, 1.0, 1.0, null, 0);
            case LINEAR -> cacheHolder = build(ctx, inv, rows, s.factor(), 1.0, null, 0);
            case DYNAMIC -> {
                double f = s.factor();
                int len = (int) Math.round(maxPositions * f);
                double scaledBase = base * Math.pow(f * len / maxPositions - (f - 1), rotaryDim / (rotaryDim - 2.0));
                double[] scaled = new double[half];
                for (int i = 0; i < half; i++) {
                    scaled[i] = 1.0 / Math.pow(scaledBase, 2.0 * i / rotaryDim);
                }
                cacheHolder = build(ctx, inv, len, 1.0, 1.0, scaled, maxPositions);
            }
            case YARN -> {
                double f = s.factor();
                int orig = s.originalMaxPositionEmbeddings().orElse(maxPositions);
                double low = Math.floor(correctionDim(s.betaFast(), rotaryDim, base, orig));
                double high = Math.ceil(correctionDim(s.betaSlow(), rotaryDim, base, orig));
                low = Math.max(low, 0);
                high = Math.min(high, rotaryDim - 1);
                if (low == high) {
                    high += 0.001;
                }
                double[] mixed = new double[half];
                for (int i = 0; i < half; i++) {
                    double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
                    double extrapolationWeight = 1 - ramp;
                    mixed[i] = inv[i] / f * (1 - extrapolationWeight) + inv[i] * extrapolationWeight;
                }
                double mscale = s.attentionFactor().orElse(yarnMscale(f, s));
                cacheHolder = build(ctx, mixed, Math.max(rows, (int) Math.round(orig * f)), 1.0, mscale, null, 0);
            }
            case LLAMA3 -> {
                double f = s.factor();
                int orig = s.originalMaxPositionEmbeddings().orElse(8192);
                double lowWavelen = orig / s.lowFreqFactor();
                double highWavelen = orig / s.highFreqFactor();
                double[] adj = new double[half];
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen < highWavelen) {
                        adj[i] = inv[i];
                    } else if (wavelen > lowWavelen) {
                        adj[i] = inv[i] / f;
                    } else {
                        double smooth = (orig / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                        adj[i] = (1 - smooth) * inv[i] / f + smooth * inv[i];
                    }
                }
                cacheHolder = build(ctx, adj, rows, 1.0, 1.0, null, 0);
            }
            case LONGROPE -> {
                int orig = s.originalMaxPositionEmbeddings().orElseThrow(() -> new IllegalArgumentException(
                        "longrope needs original_max_position_embeddings in config.json"));
                double[] shortF = s.shortFactor(), longF = s.longFactor();
                if (shortF.length != half || longF.length != half) {
                    throw new IllegalArgumentException("longrope short_factor/long_factor have " + shortF.length + "/"
                            + longF.length + " entries, expected rotary_dim/2 = " + half + " (config.json)");
                }
                double ratio = (double) maxPositions / orig;
                double mscale = s.attentionFactor().orElse(ratio <= 1 ? 1.0
                        : Math.sqrt(1 + Math.log(ratio) / Math.log(orig)));
                double[] si = new double[half], li = new double[half];
                for (int i = 0; i < half; i++) {
                    si[i] = inv[i] / shortF[i];
                    li[i] = inv[i] / longF[i];
                }
                cacheHolder = build(ctx, si, rows, 1.0, mscale, null, 0);
                longC = build(ctx, li, rows, 1.0, mscale, null, 0);
                from = orig;
            }
            default -> throw new IllegalArgumentException("unsupported rope type " + s.type());
        }
        this.cache = cacheHolder;
        this.longCache = longC;
        this.longFrom = from;
    }


    /** yarn's attention scaling when attention_factor is absent (transformers' get_mscale rules). */
    private static double yarnMscale(double factor, RopeScaling s) {
        if (s.mscale().isPresent() && s.mscaleAllDim().isPresent()) {
            return mscale(factor, s.mscale().getAsDouble()) / mscale(factor, s.mscaleAllDim().getAsDouble());
        }
        return mscale(factor, 1.0);
    }

    private static double mscale(double scale, double m) {
        return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
    }

    /** The dimension index whose wavelength completes {@code numRotations} turns over {@code maxPos}. */
    private static double correctionDim(double numRotations, int dim, double base, int maxPos) {
        return dim * Math.log(maxPos / (numRotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    /**
     * cos/sin rows for positions [0, rows): position p uses {@code p / positionDivisor} and
     * frequencies {@code inv} (or {@code beyond} from position {@code beyondFrom} on), times mscale.
     */
    private static Tensor build(ModelContext ctx, double[] inv, int rows, double positionDivisor, double mscale,
            double[] beyond, int beyondFrom) {
        int half = inv.length;
        float[] c = new float[rows * 2 * half];
        for (int p = 0; p < rows; p++) {
            double[] f = beyond != null && p >= beyondFrom ? beyond : inv;
            double t = p / positionDivisor;
            for (int i = 0; i < half; i++) {
                double a = t * f[i];
                c[p * 2 * half + i] = (float) (Math.cos(a) * mscale);
                c[p * 2 * half + half + i] = (float) (Math.sin(a) * mscale);
            }
        }
        return ctx.own(Tensors.fromFloats(ctx.backend(), DType.F32, c, rows, 2 * half));
    }

    /** Positions the cache covers. */
    public int maxPositions() {
        return cache.dim(0);
    }

    /**
     * Rotates q [T, Hq·headSize] and k [T, Hk·headSize] (or null) in place.
     *
     * @param maxPosition the largest position in the batch (picks longrope's long cache)
     */
    public void apply(Tensor positions, Tensor q, Tensor k, int maxPosition) {
        if (maxPosition >= cache.dim(0)) {
            throw new IllegalArgumentException("position " + maxPosition + " is past the rotary cache of "
                    + cache.dim(0) + " positions (max_position_embeddings in config.json)");
        }
        Tensor c = longCache != null && maxPosition >= longFrom ? longCache : cache;
        q.backend().rotary(new Rotary(positions, q, k, c, headSize, rotaryDim, neox));
    }
}
