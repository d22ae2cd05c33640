package dev.jvllm.engine.core;

import dev.jvllm.engine.tokenizer.IncrementalDecoder;
import dev.jvllm.engine.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * One completion's output text, built token by token, and its stop strings (vLLM v1's
 * {@code IncrementalDetokenizer} + {@code check_stop_strings}):
 * <ul>
 *   <li>decoding continues after the last {@value #CONTEXT} prompt ids, so the first output token
 *       decodes as it does inside the text;</li>
 *   <li>a token that ended the completion as EOS or a stop token id is not decoded, unless
 *       include_stop_str_in_output;</li>
 *   <li>stop strings are searched only in text that is new (plus the length of the stop string
 *       minus one before it), only once more than min_tokens tokens exist, in the order given; the
 *       first that matches wins and the text is cut before it (after it with
 *       include_stop_str_in_output);</li>
 *   <li>while the completion runs, the last (longest stop string − 1) characters are held back from
 *       the stream, so a stop string is never partly streamed.</li>
 * </ul>
 */
final class OutputText {
    /** Prompt ids decoded as context (vLLM's INITIAL_INCREMENTAL_DETOKENIZATION_OFFSET). */
    static final int CONTEXT = 5;

    private final IncrementalDecoder decoder;
    private final List<String> stop;
    private final boolean includeStop;
    private final int minTokens;
    private final int bufferLength;
    private final StringBuilder text = new StringBuilder();
    private int streamed; // characters of text already returned by delta()

    OutputText(Tokenizer tokenizer, int[] prompt, SamplingParams params) {
        int[] context = Arrays.copyOfRange(prompt, Math.max(0, prompt.length - CONTEXT), prompt.length);
        if (context.length > 0 && tokenizer.decode(context, params.skipSpecialTokens()).endsWith("\uFFFD")) {
            context = new int[0]; // the prompt ends inside a character: decoding after it would garble the output
        }
        this.decoder = new IncrementalDecoder(tokenizer, params.skipSpecialTokens(), context);
        this.stop = params.stop();
        this.includeStop = params.includeStopStrInOutput();
        this.minTokens = params.minTokens();
        this.bufferLength = params.stopBufferLength();
    }

    /**
     * Adds a newly generated token.
     *
     * @param numOutput      output tokens including this one
     * @param stopTerminated whether this token ended the completion as EOS or a stop token id
     * @return the stop string it completed, or null
     */
    String add(int token, int numOutput, boolean stopTerminated) {
        int checkFrom = text.length();
        if (!stopTerminated || includeStop) {
            text.append(decoder.next(token));
        }
        if (numOutput <= minTokens) {
            return null; // vLLM: stop strings count only after min_tokens
        }
        int newChars = text.length() - checkFrom;
        if (newChars == 0) {
            return null;
        }
        for (String s : stop) {
            int from = Math.max(0, text.length() - newChars - s.length() + 1);
            int at = text.indexOf(s, from);
            if (at < 0) {
                continue;
            }
            int cut = includeStop ? at + s.length() : at;
            if (cut < text.length()) {
                text.setLength(cut);
            }
            streamed = Math.min(streamed, text.length());
            return s;
        }
        return null;
    }

    /** The text not returned before; while running, the stop-string buffer stays back. */
    String delta(boolean finished) {
        int end = finished ? text.length() : Math.max(streamed, text.length() - bufferLength);
        String d = text.substring(streamed, end);
        streamed = end;
        return d;
    }

    /** All text so far. */
    String text() {
        return text.toString();
    }
}
