package dev.jvllm.engine.tokenizer;

import java.util.Arrays;

/**
 * Streaming detokenization: fed one id at a time, returns only the newly completed text.
 *
 * <p>Text is held back while the decoded tail ends in U+FFFD, i.e. while a multi-byte character
 * (an emoji spread over byte tokens) is still incomplete, so no broken character is ever emitted.
 * Each step decodes a short window of ids rather than the whole sequence: the window starts at
 * the last point where everything decoded cleanly, and the text of its already-emitted prefix is
 * subtracted (the approach vLLM uses), so decoders that treat the first token specially (Metaspace,
 * Strip) affect both texts alike. Not thread-safe; use one per sequence.
 */
public final class IncrementalDecoder {
    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private int[] ids = new int[16];
    private int size;
    private int prefixOffset; // window start: everything before it has been emitted
    private int readOffset; // ids in [prefixOffset, readOffset) have been emitted

    public IncrementalDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this(tokenizer, skipSpecialTokens, new int[0]);
    }

    /**
     * A decoder that continues after {@code context} (e.g. the last few prompt ids, as vLLM does):
     * the context is never emitted, but the first ids decode as they would after it (a Metaspace
     * word boundary keeps its space).
     */
    public IncrementalDecoder(Tokenizer tokenizer, boolean skipSpecialTokens, int[] context) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        ids = Arrays.copyOf(context, Math.max(16, context.length * 2));
        size = context.length;
        readOffset = size;
    }

    /** Adds one id and returns the text it completes (possibly empty). */
    public String next(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
        String prefix = decode(prefixOffset, readOffset);
        String full = decode(prefixOffset, size);
        if (full.length() > prefix.length() && !full.endsWith("\uFFFD") && full.startsWith(prefix)) {
            prefixOffset = readOffset;
            readOffset = size;
            return full.substring(prefix.length());
        }
        return "";
    }

    /** Returns whatever is still held back (e.g. an invalid byte sequence at the end), as decode gives it. */
    public String flush() {
        String prefix = decode(prefixOffset, readOffset);
        String full = decode(prefixOffset, size);
        prefixOffset = readOffset = size;
        return full.startsWith(prefix) ? full.substring(prefix.length()) : "";
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(ids, from, to), skipSpecialTokens);
    }
}
