package dev.jvllm.models.loader;

import dev.jvllm.api.DType;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reads every checkpoint, expected-output file and config.json that transformers 5 wrote under
 * {@code src/test/resources/fixtures/} (see its README): real save_pretrained output, not
 * hand-written snippets.
 */
class CommittedFixturesTest {

    static Path fixtures() throws URISyntaxException {
        return Path.of(CommittedFixturesTest.class.getResource("/fixtures").toURI());
    }

    /** The dense fixtures; the quantized ones (quant-*) are QuantizedParityTest's. */
    static Stream<Path> fixtureDirs() throws IOException, URISyntaxException {
        return Files.list(fixtures()).filter(Files::isDirectory)
                .filter(d -> !d.getFileName().toString().startsWith("quant-")).sorted();
    }

    @TestFactory
    Stream<DynamicTest> everyFixtureOpens() throws IOException, URISyntaxException {
        return fixtureDirs().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            ModelConfig c = ModelConfig.load(dir);
            assertFalse(c.architectures().isEmpty());
            assertEquals(384, c.vocabSize());
            assertEquals(64, c.hiddenSize());
            assertTrue(c.numHiddenLayers() >= 2);
            c.tieWordEmbeddings();
            c.layerTypes();
            c.dtype();
            c.eosTokenIds();
            if (c.has("num_attention_heads") || c.has("n_head")) {
                assertTrue(c.headDim() > 0);
                c.ropeScaling();
                c.ropeTheta();
                c.partialRotaryFactor();
            }
            try (Checkpoint w = Checkpoint.open(dir)) {
                assertEquals(List.of(dir.resolve("model.safetensors")), w.files());
                assertTrue(w.size() > 0);
                for (CheckpointTensor t : w) {
                    assertEquals(DType.F32, t.dtype(), t.toString());
                    assertEquals(t.numel(), t.toFloatArray().length);
                }
            }
            try (SafetensorsFile e = SafetensorsFile.open(dir.resolve("expected.safetensors"))) {
                CheckpointTensor logits = e.tensors().stream().filter(t -> t.name().equals("logits_0"))
                        .findFirst().orElseThrow();
                assertEquals(384, logits.dim(-1));
            }
        }));
    }

    @Test
    void ropeAndFloatDetailsOfTheFixtures() throws Exception {
        Path f = fixtures();
        RopeScaling llama = ModelConfig.load(f.resolve("llama")).ropeScaling();
        assertEquals(RopeScaling.Type.LLAMA3, llama.type());
        assertEquals(OptionalInt.of(32), llama.originalMaxPositionEmbeddings());
        assertEquals(RopeScaling.Type.LINEAR, ModelConfig.load(f.resolve("llama_tied_mha_linear")).ropeScaling().type());
        RopeScaling phi3 = ModelConfig.load(f.resolve("phi3")).ropeScaling();
        assertEquals(RopeScaling.Type.LONGROPE, phi3.type());
        assertEquals(8, phi3.shortFactor().length);
        assertEquals(3.25, phi3.longFactor()[7]);
        assertEquals(0.5, ModelConfig.load(f.resolve("bamba")).partialRotaryFactor());
        assertEquals(List.of(0.0, Double.POSITIVE_INFINITY),
                ModelConfig.load(f.resolve("mamba2")).getDoubleList("time_step_limit"));
        ModelConfig gemma2 = ModelConfig.load(f.resolve("gemma2"));
        assertEquals(OptionalInt.of(8), gemma2.slidingWindow());
        assertEquals("gelu_pytorch_tanh", gemma2.hiddenAct());
        assertEquals(1e6, ModelConfig.load(f.resolve("lfm2")).ropeTheta());
        assertEquals(16, ModelConfig.load(f.resolve("mixtral")).headDim(), "head_dim null → 64 / 4");
    }
}
