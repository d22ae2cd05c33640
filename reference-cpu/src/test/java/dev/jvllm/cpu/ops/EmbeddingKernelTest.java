package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Embedding;
import org.junit.jupiter.api.Test;

class EmbeddingKernelTest {

    @Test
    void looksUpThisShardsRowsAndZerosTheRest() {
        int vocab = 6, hidden = 19, start = 10;
        float[] table = random(2, vocab * hidden, -1, 1);
        int[] ids = {10, 15, 9, 16, 12, 12, -1, 0, 11};
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            for (DType tt : FLOATS) {
                for (DType ot : FLOATS) {
                    Tensor tab = strided(b, tt, table, vocab, hidden, 1, 0, 0f);
                    Tensor out = strided(b, ot, random(3, ids.length * hidden, 5, 6), ids.length, hidden, 0, 3, 0f);
                    b.embedding(new Embedding(Tensors.fromInts(b, ids, ids.length), tab, start, out));
                    float[] want = new float[ids.length * hidden];
                    for (int t = 0; t < ids.length; t++) {
                        int local = ids[t] - start;
                        for (int j = 0; j < hidden; j++) {
                            want[t * hidden + j] = local >= 0 && local < vocab
                                    ? Numerics.roundTo(ot, Numerics.roundTo(tt, table[local * hidden + j]))
                                    : 0f;
                        }
                    }
                    assertArrayEquals(want, Tensors.toFloats(out), 0f, tt + " -> " + ot + " on " + b.description());
                }
            }
        }
    }

    @Test
    void simdMatchesScalarBitForBit() {
        int vocab = 50, hidden = 777;
        int[] ids = new int[97];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7) % 70 + 3; // some ids past this shard
        }
        for (DType tt : FLOATS) {
            for (DType ot : FLOATS) {
                Tensor[] outs = new Tensor[2];
                Backend[] bs = {SCALAR, simd(2)};
                for (int k = 0; k < 2; k++) {
                    Tensor tab = Tensors.fromFloats(bs[k], tt, random(4, vocab * hidden, -2, 2), vocab, hidden);
                    outs[k] = bs[k].allocate(ot, ids.length, hidden);
                    bs[k].embedding(new Embedding(Tensors.fromInts(bs[k], ids, ids.length), tab, 5, outs[k]));
                }
                assertSameBits(outs[0], outs[1], tt + " -> " + ot);
            }
        }
    }

    @Test
    void supportsOnlyFloatTables() {
        Tensor ids = SIMD.allocate(DType.I32, 2);
        assertFalse(SIMD.supports(new Embedding(ids, SIMD.allocate(DType.I8, 4, 3), 0, SIMD.allocate(DType.F32, 2, 3))));
        assertFalse(SIMD.supports(new Embedding(ids, SIMD.allocate(DType.F32, 4, 3), 0, SIMD.allocate(DType.F8_E4M3, 2, 3))));
    }
}
