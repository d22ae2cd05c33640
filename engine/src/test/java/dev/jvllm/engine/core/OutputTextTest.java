package dev.jvllm.engine.core;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.engine.tokenizer.Tokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Streaming text and stop strings (vLLM's detokenizer semantics) over a real byte-level tokenizer. */
class OutputTextTest {
    static Tokenizer tok;

    @BeforeAll
    static void load() throws Exception {
        tok = Tokenizer.load(Path.of("src/test/resources/tokenizers/bytelevel"));
    }

    /** Feeds the tokens of {@code text}; returns the concatenated deltas, or null when no stop string hit. */
    record Run(String streamed, String stop, int tokensFed, String text) {
    }

    static Run feed(String prompt, String text, SamplingParams p) {
        int[] promptIds = tok.encode(prompt, false);
        OutputText out = new OutputText(tok, promptIds, p);
        int[] ids = tok.encode(text, false);
        StringBuilder streamed = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            String stop = out.add(ids[i], i + 1, false);
            boolean finished = stop != null || i == ids.length - 1;
            String d = out.delta(finished);
            if (!finished && !p.stop().isEmpty() && !p.includeStopStrInOutput()) {
                for (String s : p.stop()) {
                    assertFalse((streamed + d).contains(s), "streamed a stop string: " + streamed + d);
                }
            }
            streamed.append(d);
            if (stop != null) {
                return new Run(streamed.toString(), stop, i + 1, out.text());
            }
        }
        return new Run(streamed.toString(), null, ids.length, out.text());
    }

    @Test
    void withoutStopStringsTheStreamIsTheDecodedText() {
        Run r = feed("Say:", " Hello world, this is a test.", SamplingParams.defaults());
        assertNull(r.stop());
        assertEquals(" Hello world, this is a test.", r.streamed());
        assertEquals(r.text(), r.streamed());
    }

    @Test
    void aStopStringCutsTheTextBeforeItAndIsNeverPartlyStreamed() {
        Run r = feed("Say:", " Hello world, this is a test.", SamplingParams.builder().stop("is a", "xyz").build());
        assertEquals("is a", r.stop());
        assertEquals(" Hello world, this ", r.text());
        assertEquals(r.text(), r.streamed());
    }

    @Test
    void includeStopStrInOutputKeepsIt() {
        Run r = feed("Say:", " Hello world, this is a test.", SamplingParams.builder().stop("is a")
                .includeStopStrInOutput(true).build());
        assertEquals(" Hello world, this is a", r.text());
        assertEquals(r.text(), r.streamed());
    }

    @Test
    void theEarliestCompletedStopStringWinsAndWithinOneTokenTheFirstListed() {
        assertEquals("world", feed("", " Hello world, this is a test.", SamplingParams.builder().stop("test", "world")
                .build()).stop());
        int[] the = tok.encode(" the", false);
        assertEquals(1, the.length, "\" the\" is one token: both stop strings complete in it");
        OutputText eFirst = new OutputText(tok, new int[0], SamplingParams.builder().stop("e", "h").build());
        assertEquals("e", eFirst.add(the[0], 1, false));
        assertEquals(" th", eFirst.text());
        OutputText hFirst = new OutputText(tok, new int[0], SamplingParams.builder().stop("h", "e").build());
        assertEquals("h", hFirst.add(the[0], 1, false));
        assertEquals(" t", hFirst.text());
    }

    @Test
    void stopStringsCountOnlyAfterMinTokens() {
        String text = " ab ab ab ab";
        int[] ids = tok.encode(text, false);
        OutputText first = new OutputText(tok, new int[0], SamplingParams.builder().stop("ab").build());
        int firstHit = -1;
        for (int i = 0; i < ids.length && firstHit < 0; i++) {
            if (first.add(ids[i], i + 1, false) != null) {
                firstHit = i;
            }
        }
        OutputText later = new OutputText(tok, new int[0], SamplingParams.builder().stop("ab").minTokens(firstHit + 1)
                .maxTokens(16).build());
        int laterHit = -1;
        for (int i = 0; i < ids.length && laterHit < 0; i++) {
            if (later.add(ids[i], i + 1, false) != null) {
                laterHit = i;
            }
        }
        assertTrue(laterHit > firstHit, firstHit + " then " + laterHit);
        assertTrue(later.text().length() > first.text().length());
    }

    @Test
    void aStopTerminatingTokenIsNotDecoded() {
        OutputText out = new OutputText(tok, new int[0], SamplingParams.defaults());
        int[] ids = tok.encode(" Hi there", false);
        for (int i = 0; i < ids.length - 1; i++) {
            out.add(ids[i], i + 1, false);
        }
        out.add(ids[ids.length - 1], ids.length, true);
        assertEquals(tok.decode(java.util.Arrays.copyOf(ids, ids.length - 1), true), out.text());
        OutputText kept = new OutputText(tok, new int[0], SamplingParams.builder().includeStopStrInOutput(true).build());
        for (int i = 0; i < ids.length; i++) {
            kept.add(ids[i], i + 1, i == ids.length - 1);
        }
        assertEquals(" Hi there", kept.text());
    }

    @Test
    void theFirstTokenDecodesInThePromptsContext() throws Exception {
        Tokenizer meta = Tokenizer.load(Path.of("src/test/resources/tokenizers/metaspace"));
        int[] all = meta.encode("Hello world again", false);
        int split = 1;
        while (!meta.token(all[split]).startsWith("\u2581")) { // the first token that starts a word
            split++;
        }
        int[] prompt = java.util.Arrays.copyOf(all, split);
        OutputText out = new OutputText(meta, prompt, SamplingParams.defaults());
        for (int i = split; i < all.length; i++) {
            out.add(all[i], i - split + 1, false);
        }
        String whole = meta.decode(all, true);
        String alone = meta.decode(java.util.Arrays.copyOfRange(all, split, all.length), true);
        assertEquals(whole.substring(meta.decode(prompt, true).length()), out.text(),
                "the continuation of the prompt's text, word boundary included");
        assertNotEquals(alone, out.text(), "decoded alone, Metaspace would drop the leading space");
    }
}
