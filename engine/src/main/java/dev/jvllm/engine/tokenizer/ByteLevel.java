package dev.jvllm.engine.tokenizer;

import java.util.regex.Pattern;

/** GPT-2's byte-to-character table: every byte gets a printable character, so BPE can work on text. */
final class ByteLevel {
    static final char[] BYTE_TO_CHAR = new char[256];
    /** Inverse of {@link #BYTE_TO_CHAR}; -1 for characters that are not in the table. */
    static final int[] CHAR_TO_BYTE = new int[512];

    /** GPT-2's own split, used when the ByteLevel pre-tokenizer has {@code use_regex: true}. */
    static final Pattern GPT2_REGEX = Regexes.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {
    }

    /** Maps the UTF-8 bytes of {@code s} to their byte-level characters. */
    static String encode(String s) {
        byte[] bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    /** The bytes behind a byte-level token, or null when it has a character outside the table. */
    static byte[] decode(String token) {
        byte[] out = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                return null;
            }
            out[i] = (byte) b;
        }
        return out;
    }
}
