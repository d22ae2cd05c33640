// Vocab-parallel embedding lookup. See EmbeddingKernels.java.
#include "common.cuh"

// out[t] = table[ids[t] - vocabStart] when that row is in this shard, else zeros; converted to out's dtype.
extern "C" __global__ void emb_lookup(const int* ids, View table, View out, int tokens, int hidden, int vocabStart,
        int vocab) {
    pdl_begin();
    bool same = table.dt == out.dt;
    int size = dt_size(out.dt);
    ROWS_COLS(t, c, tokens, hidden) {
        long long local = (long long) ids[t] - vocabStart;
        char* o = at(out, t, c);
        if (local < 0 || local >= vocab) {
            store_f32(o, out.dt, 0.0f);
        } else if (same) {
            copy_elem(o, at(table, local, c), size);
        } else {
            store_f32(o, out.dt, ld(table, local, c));
        }
    }
}
