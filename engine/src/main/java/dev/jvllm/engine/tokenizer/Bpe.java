package dev.jvllm.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/** The BPE model of tokenizer.json: vocabulary, ranked merges, unk and byte fallback. */
final class Bpe {
    final Map<String, Integer> vocab = new HashMap<>();
    /** Key (left id, right id) → (rank &lt;&lt; 32 | merged id). */
    private final Map<Long, Long> merges = new HashMap<>();
    private final Integer unkId;
    private final boolean byteFallback, fuseUnk, ignoreMerges;
    private final String prefix, suffix;

    Bpe(Cfg c) {
        String type = c.str("type", "BPE");
        if (!type.equals("BPE")) {
            throw c.unsupported("type", type, List.of("BPE"));
        }
        c.allowKeys("type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
                "byte_fallback", "ignore_merges", "vocab", "merges");
        if (c.has("dropout") && c.get("dropout").node().asDouble() != 0) {
            // Dropout makes encoding random; it is a training-time option.
            throw c.get("dropout").error("unsupported value " + c.get("dropout").node() + "; supported: null");
        }
        Cfg v = c.get("vocab");
        if (v.isNull() || !v.node().isObject()) {
            throw v.error("expected an object of token → id");
        }
        for (Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> it = v.node().fields();
                it.hasNext();) {
            var e = it.next();
            vocab.put(e.getKey(), v.get(e.getKey()).asInt());
        }
        prefix = c.str("continuing_subword_prefix", null);
        suffix = c.str("end_of_word_suffix", null);
        byteFallback = c.bool("byte_fallback", false);
        fuseUnk = c.bool("fuse_unk", false);
        ignoreMerges = c.bool("ignore_merges", false);
        String unk = c.str("unk_token", null);
        unkId = unk == null ? null : vocab.get(unk);
        if (unk != null && unkId == null) {
            throw c.get("unk_token").error("unk token \"" + unk + "\" is not in the vocabulary");
        }
        List<Cfg> list = c.has("merges") ? c.list("merges") : List.of();
        int prefixLen = prefix == null ? 0 : prefix.length();
        for (int rank = 0; rank < list.size(); rank++) {
            Cfg m = list.get(rank);
            String a, b;
            // Older files write "a b", newer ones ["a", "b"] (which allows spaces inside tokens).
            if (m.node().isTextual()) {
                String[] parts = m.node().asText().split(" ", -1);
                if (parts.length != 2) {
                    throw m.error("expected \"a b\", got \"" + m.node().asText() + "\"");
                }
                a = parts[0];
                b = parts[1];
            } else if (m.node().isArray() && m.node().size() == 2 && m.node().get(0).isTextual()
                    && m.node().get(1).isTextual()) {
                a = m.node().get(0).asText();
                b = m.node().get(1).asText();
            } else {
                throw m.error("expected \"a b\" or [\"a\", \"b\"]");
            }
            Integer ia = vocab.get(a), ib = vocab.get(b);
            String merged = a + b.substring(Math.min(prefixLen, b.length()));
            Integer im = vocab.get(merged);
            if (ia == null || ib == null || im == null) {
                throw m.error("merge of \"" + a + "\" and \"" + b + "\" uses a token not in the vocabulary");
            }
            merges.putIfAbsent(key(ia, ib), ((long) rank << 32) | im);
        }
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /** Appends the ids of one pre-tokenized word. */
    void tokenize(String word, List<Integer> out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) {
                out.add(id);
                return;
            }
        }
        List<Integer> syms = new ArrayList<>();
        int pendingUnk = -1; // held so that fuse_unk can extend it
        for (int i = 0; i < word.length();) {
            int end = i + Character.charCount(word.codePointAt(i));
            String s = word.substring(i, end);
            if (prefix != null && i > 0) {
                s = prefix + s;
            }
            if (suffix != null && end == word.length()) {
                s = s + suffix;
            }
            i = end;
            Integer id = vocab.get(s);
            if (id != null) {
                if (pendingUnk >= 0) {
                    syms.add(pendingUnk);
                    pendingUnk = -1;
                }
                syms.add(id);
                continue;
            }
            if (byteFallback) {
                byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
                int[] ids = new int[bytes.length];
                boolean all = true;
                for (int k = 0; k < bytes.length && all; k++) {
                    Integer b = vocab.get(String.format("<0x%02X>", bytes[k] & 0xFF));
                    all = b != null;
                    ids[k] = all ? b : 0;
                }
                if (all) {
                    // Hugging Face does not flush a pending unk before byte tokens; it stays pending.
                    for (int b : ids) {
                        syms.add(b);
                    }
                    continue;
                }
            }
            if (unkId != null) {
                if (pendingUnk >= 0 && !fuseUnk) {
                    syms.add(pendingUnk);
                }
                pendingUnk = unkId;
            }
        }
        if (pendingUnk >= 0) {
            syms.add(pendingUnk);
        }
        merge(syms, out);
    }

    /** Applies merges lowest rank first (leftmost on ties), as Hugging Face's priority queue does. */
    private void merge(List<Integer> syms, List<Integer> out) {
        int n = syms.size();
        int[] id = new int[n], next = new int[n], prev = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            id[i] = syms.get(i);
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        PriorityQueue<Long> queue = new PriorityQueue<>(); // rank << 32 | position
        for (int i = 0; i + 1 < n; i++) {
            push(queue, id[i], id[i + 1], i);
        }
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int pos = (int) top, rank = (int) (top >>> 32);
            if (dead[pos] || next[pos] < 0) {
                continue;
            }
            int right = next[pos];
            Long m = merges.get(key(id[pos], id[right]));
            if (m == null || (int) (m >>> 32) != rank) {
                continue; // stale: one side was merged since this pair was queued
            }
            id[pos] = (int) (long) m;
            dead[right] = true;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
                push(queue, id[pos], id[next[pos]], pos);
            }
            if (prev[pos] >= 0) {
                push(queue, id[prev[pos]], id[pos], prev[pos]);
            }
        }
        for (int i = 0; i < n; i++) {
            if (!dead[i]) {
                out.add(id[i]);
            }
        }
    }

    private void push(PriorityQueue<Long> queue, int a, int b, int pos) {
        Long m = merges.get(key(a, b));
        if (m != null) {
            queue.add((m >>> 32 << 32) | pos);
        }
    }
}
