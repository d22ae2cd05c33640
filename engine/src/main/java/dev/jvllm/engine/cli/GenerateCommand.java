package dev.jvllm.engine.cli;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Sample;
import dev.jvllm.models.runtime.SimpleRunner;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvllm.engine.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code jvllm generate --model DIR --prompt-token-ids 5,17,3 --max-tokens 12 --temperature 0 --json}:
 * prints {@code {"token_ids": [...]}} with the generated ids only. Temperature 0 is greedy;
 * otherwise tokens are drawn by the backend's seeded sampler (top-k / top-p / min-p apply).
 * A text prompt is encoded with the model directory's {@code tokenizer.json} and the output is
 * decoded back to text ({@code --json}: {@code {"text": ..., "token_ids": [...]}}).
 */
public final class GenerateCommand implements Command {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "generate";
    }

    @Override
    public String summary() {
        return "generate from a text prompt (model with tokenizer.json) or from --prompt-token-ids";
    }

    @Override
    public String usage() {
        return """
                usage: jvllm generate --model DIR (--prompt-token-ids 5,17,3 | "text prompt") [--max-tokens N]
                                      [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--seed S] [--json] [options]

                With --prompt-token-ids: prints the generated token ids (only the new ones); with --json one
                object {"token_ids": [...]}. With a text prompt (DIR must hold tokenizer.json): prints the
                generated text; with --json {"text": ..., "token_ids": [...]}.
                --temperature 0 (the default) is greedy decoding.

                """ + ModelOptions.USAGE;
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Set<String> values = new HashSet<>(ModelOptions.VALUE_OPTIONS);
        values.addAll(Set.of("--prompt-token-ids", "--max-tokens", "--temperature", "--top-k", "--top-p", "--min-p",
                "--seed"));
        Args a = Args.parse(args, Set.of("--json"), values);
        ModelOptions m = ModelOptions.from(a);
        Tokenizer tokenizer = null;
        int[] ids;
        if (a.positionals().isEmpty()) {
            ids = ModelOptions.tokenIds(a.value("--prompt-token-ids"));
        } else {
            a.requirePositionals(1, 1, "prompt");
            if (a.value("--prompt-token-ids") != null) {
                throw new UsageException("give either a text prompt or --prompt-token-ids, not both");
            }
            if (!Files.isRegularFile(m.model().resolve("tokenizer.json"))) {
                throw new UsageException("a text prompt needs " + m.model().resolve("tokenizer.json")
                        + "; pass --prompt-token-ids 5,17,3 for a model without a tokenizer");
            }
            tokenizer = Tokenizer.load(m.model());
            ids = tokenizer.encode(a.positionals().get(0), true);
            if (ids.length == 0) {
                throw new UsageException("the prompt encodes to no tokens");
            }
        }
        int maxTokens = a.intValue("--max-tokens", 16);
        if (maxTokens < 1) {
            throw new UsageException("--max-tokens must be >= 1, got " + maxTokens);
        }
        float temperature = (float) a.doubleValue("--temperature", 0);
        int topK = a.intValue("--top-k", 0);
        float topP = (float) a.doubleValue("--top-p", 1);
        float minP = (float) a.doubleValue("--min-p", 0);
        long seed = Long.parseLong(a.value("--seed", "0"));
        if (temperature < 0 || topK < 0 || topP <= 0 || topP > 1 || minP < 0 || minP > 1) {
            throw new UsageException("need temperature >= 0, top-k >= 0, 0 < top-p <= 1, 0 <= min-p <= 1");
        }
        long start = System.nanoTime();
        int[] generated = m.run(ids.length + maxTokens, r -> temperature == 0 ? r.greedy(ids, maxTokens)
                : r.generate(ids, maxTokens, sampler(temperature, topK, topP, minP, seed)));
        double seconds = (System.nanoTime() - start) / 1e9;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < generated.length; i++) {
            sb.append(i == 0 ? "" : a.has("--json") ? ", " : " ").append(generated[i]);
        }
        if (tokenizer == null) {
            out.println(a.has("--json") ? "{\"token_ids\": [" + sb + "]}" : sb.toString());
        } else {
            String text = tokenizer.decode(generated, true);
            out.println(a.has("--json") ? "{\"text\": " + JSON.writeValueAsString(text) + ", \"token_ids\": [" + sb + "]}"
                    : text);
        }
        err.printf("generated %d tokens in %.2f s%n", generated.length, seconds);
        return 0;
    }

    /** Draws with the backend's Sample op; offset = the generated token's index, so a seed reproduces a run. */
    private static SimpleRunner.TokenPicker sampler(float temperature, int topK, float topP, float minP, long seed) {
        return (logits, step) -> {
            Backend b = logits.backend();
            try (Tensor t = Tensors.fromFloats(b, dev.jvllm.api.DType.F32, new float[] {temperature}, 1);
                 Tensor k = Tensors.fromInts(b, new int[] {topK}, 1);
                 Tensor p = Tensors.fromFloats(b, dev.jvllm.api.DType.F32, new float[] {topP}, 1);
                 Tensor mp = Tensors.fromFloats(b, dev.jvllm.api.DType.F32, new float[] {minP}, 1);
                 Tensor s = Tensors.fromLongs(b, new long[] {seed}, 1);
                 Tensor o = Tensors.fromLongs(b, new long[] {step}, 1);
                 Tensor out = b.allocate(dev.jvllm.api.DType.I32, 1)) {
                b.sample(new Sample(logits, t, k, p, mp, s, o, out));
                return Tensors.toInts(out)[0];
            }
        };
    }
}
