package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.IsAttentionFree;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.LogitsProcessor;
import dev.jvllm.models.layers.MambaMixer2;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.ParallelLMHead;
import dev.jvllm.models.layers.VocabParallelEmbedding;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.layers.Workspace;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Mamba-2: Mamba-1's residual structure ({@code h += mixer(RMSNorm(h))}) with the SSD mixer.
 * Names: {@code backbone.embeddings}, {@code backbone.layers.N.{norm,mixer.*}}, {@code backbone.norm_f}.
 */
public final class Mamba2ForCausalLM extends Module implements CausalLM, IsAttentionFree {
    private final int hidden;
    private final VocabParallelEmbedding embeddings;
    private final List<Norm> norms = new ArrayList<>();
    private final List<MambaMixer2> mixers = new ArrayList<>();
    private final Norm normF;
    private final ParallelLMHead lmHead;
    private final LogitsProcessor logits;
    private final boolean tied;

    public Mamba2ForCausalLM(ModelContext ctx) {
        super(ctx, "");
        ModelConfig c = ctx.config();
        hidden = c.hiddenSize();
        double eps = c.getDouble("layer_norm_epsilon", 1e-5);
        List<Double> limit = c.has("time_step_limit") ? c.getDoubleList("time_step_limit") : List.of(0.0,
                Double.POSITIVE_INFINITY);
        embeddings = add(new VocabParallelEmbedding(ctx, "backbone.embeddings", c.vocabSize(), hidden));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "backbone.layers." + i;
            norms.add(add(new Norm(ctx, p + ".norm", Norm.Kind.RMS, hidden, eps, false)));
            mixers.add(add(new MambaMixer2(ctx, p + ".mixer", hidden, c.getInt("num_heads", 128),
                    c.getInt("head_dim", 64), c.getInt("n_groups", 1), c.getInt("state_size", 128),
                    c.getInt("conv_kernel", 4), c.getInt("chunk_size", 256), limit.get(0).floatValue(),
                    limit.get(1).floatValue(), c.getBoolean("use_bias", false), c.getBoolean("use_conv_bias", true),
                    eps, false)));
        }
        normF = add(new Norm(ctx, "backbone.norm_f", Norm.Kind.RMS, hidden, eps, false));
        tied = c.tieWordEmbeddings();
        lmHead = tied ? ParallelLMHead.tied(ctx, "lm_head", embeddings)
                : add(new ParallelLMHead(ctx, "lm_head", c.vocabSize(), hidden));
        logits = new LogitsProcessor(ctx, 0f, 1f);
    }

    @Override
    public ModelContext context() {
        return ctx;
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, List.of(), n -> tied && n.equals("lm_head.weight"));
    }

    @Override
    public Tensor forward(Tensor ids, ForwardContext fc) {
        Backend b = ctx.backend();
        int t = ids.dim(0);
        DType dt = ctx.activationDType();
        Tensor out = b.allocate(dt, t, hidden);
        try (Workspace ws = new Workspace(b)) {
            Tensor residual = ws.allocate(dt, t, hidden);
            Tensor x = ws.allocate(dt, t, hidden);
            Tensor normed = ws.allocate(dt, t, hidden);
            embeddings.forward(ids, residual);
            for (int i = 0; i < mixers.size(); i++) {
                norms.get(i).forwardResidual(x, residual, normed);
                mixers.get(i).forward(normed, x, fc, ws);
            }
            normF.forwardResidual(x, residual, out);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    @Override
    public Tensor computeLogits(Tensor hiddenRows) {
        return logits.compute(lmHead, hiddenRows);
    }
}
