package dev.jvllm.engine;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.engine.cli.Main;
import dev.jvllm.engine.tokenizer.Tokenizer;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.loader.Checkpoint;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bundled default model (default-model/, trained by tools/default-model/train.py) against what
 * transformers computed from the same files when it was trained: our tokenizer gives the same prompt
 * ids, f32 logits agree within 1e-4 of the logit scale, greedy continuations and their text are equal.
 */
class DefaultModelTest {
    static final Path MODEL = Path.of("../default-model");
    static final Path EXPECTED = Path.of("src/test/resources/default-model");


    @Test
    void tokenizerLogitsAndGreedyTextMatchTransformers() throws Exception {
        JsonNode info = new ObjectMapper().readTree(EXPECTED.resolve("expected.json").toFile());
        Tokenizer tokenizer = Tokenizer.load(MODEL);
        try (Backend cpu = CpuBackend.create();
             CausalLM model = ModelLoader.load(MODEL, cpu, ParallelConfig.single(), DType.F32, null);
             SimpleRunner runner = new SimpleRunner(model, 256);
             Checkpoint expected = Checkpoint.open(EXPECTED.resolve("expected.safetensors"))) {
            int prompts = info.get("prompts").size();
            assertTrue(prompts >= 3);
            for (int i = 0; i < prompts; i++) {
                String text = info.get("prompts").get(i).asText();
                int[] prompt = expected.get("prompt_" + i).toIntArray();
                assertArrayEquals(prompt, tokenizer.encode(text, true), "prompt ids of \"" + text + "\"");

                float[] want = expected.get("logits_" + i).toFloatArray();
                float[] got = runner.promptLogits(prompt);
                double scale = 0, worst = 0;
                for (int j = 0; j < want.length; j++) {
                    scale = Math.max(scale, Math.abs(want[j]));
                    worst = Math.max(worst, Math.abs(want[j] - got[j]));
                }
                assertTrue(worst <= 1e-4 * scale, "\"" + text + "\": logit error " + worst + " > 1e-4 x " + scale);

                int[] greedyWant = expected.get("greedy_" + i).toIntArray();
                int[] greedyGot = runner.greedy(prompt, greedyWant.length);
                assertArrayEquals(greedyWant, greedyGot, "\"" + text + "\": greedy continuation");
                assertEquals(info.get("greedy_text").get(i).asText(), tokenizer.decode(greedyGot, true));
            }
        }
    }

    @Test
    void generateWithoutModelUsesTheBundledModel() {
        String home = System.getProperty("jvllm.home");
        System.setProperty("jvllm.home", "..");
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            int code = Main.run(List.of("generate", "In the beginning", "--temperature", "0", "--max-tokens", "12",
                            "--backend", "cpu"), new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
            // transformers' greedy text for this prompt starts " of the creation."
            assertTrue(out.toString(StandardCharsets.UTF_8).contains(" of the creation."),
                    out.toString(StandardCharsets.UTF_8));
        } finally {
            if (home == null) {
                System.clearProperty("jvllm.home");
            } else {
                System.setProperty("jvllm.home", home);
            }
        }
    }
}
