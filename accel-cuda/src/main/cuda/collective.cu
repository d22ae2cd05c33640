// The all-reduce of a tensor-parallel group's ranks (CudaGroup.java): each rank has copied every
// rank's tensor into its own slots (peer copies, no kernel), then sums them here. Every rank sums the
// same slots in the same order, so every rank gets the same bits.
#include "common.cuh"

// dst[r, c] = ((x_0 + x_1) + x_2) + ... + x_(n-1) in f32, rounded once to dst.dt (F32/BF16/F16), where
// x_k = element r * cols + c of slot k: slot k is rank k's tensor as contiguous [rows, cols] of dst.dt,
// slotElems elements after slot k - 1. __fadd_rn: never contracted or reassociated.
extern "C" __global__ void coll_sum_ranks(const char* slots, long long slotElems, int n, View dst, long long rows,
        int cols) {
    int es = dt_size(dst.dt);
    long long slotBytes = slotElems * es;
    ROWS_COLS(r, c, rows, cols) {
        const char* x = slots + (r * cols + c) * es;
        float s = load_f32(x, dst.dt);
        for (int k = 1; k < n; k++) {
            s = __fadd_rn(s, load_f32(x + k * slotBytes, dst.dt));
        }
        store_f32(at(dst, r, c), dst.dt, s);
    }
}
