package dev.jvllm.engine.cli;

import dev.jvllm.models.loader.SafetensorsWriter;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code jvllm logits --model DIR --prompt-token-ids 5,17,3 --output FILE.safetensors}: writes one
 * F32 tensor {@code logits} of shape [prompt_len, vocab_size] (the real vocabulary, no padding):
 * the logits the model computes at every prompt position of a fresh sequence.
 */
public final class LogitsCommand implements Command {
    @Override
    public String name() {
        return "logits";
    }

    @Override
    public String summary() {
        return "write the logits a model computes at every prompt position to a safetensors file";
    }

    @Override
    public String usage() {
        return "usage: jvllm logits --model DIR --prompt-token-ids 5,17,3 --output FILE.safetensors [options]\n\n"
                + "Writes one F32 tensor named \"logits\" of shape [prompt_len, vocab_size].\n\n"
                + ModelOptions.USAGE;
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Set<String> values = new HashSet<>(ModelOptions.VALUE_OPTIONS);
        values.addAll(Set.of("--prompt-token-ids", "--output"));
        Args a = Args.parse(args, Set.of(), values).requirePositionals(0, 0, "");
        ModelOptions m = ModelOptions.from(a);
        int[] ids = ModelOptions.tokenIds(a.value("--prompt-token-ids"));
        String output = a.value("--output");
        if (output == null) {
            throw new UsageException("--output FILE.safetensors is required");
        }
        float[] logits = m.run(ids.length, r -> r.promptLogits(ids));
        int vocab = logits.length / ids.length;
        new SafetensorsWriter().add("logits", new long[] {ids.length, vocab}, logits).write(Path.of(output));
        err.println("wrote logits [" + ids.length + ", " + vocab + "] to " + output);
        return 0;
    }
}
