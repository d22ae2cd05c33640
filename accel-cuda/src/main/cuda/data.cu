// Data movement: cast, fill, gather_rows (copy needs no kernel: cuMemcpy2DAsync). See DataKernels.java.
// And data_copy_out, a started read's copy into mapped host memory (Gpu.downloadLater).
#include "common.cuh"

// dst[r, c] = (dst.dt) src[r, c]; rows x cols, both F32/F16/BF16 (dst also F8_E4M3).
extern "C" __global__ void data_cast(View src, View dst, long long rows, int cols) {
    ROWS_COLS(r, c, rows, cols) {
        st(dst, r, c, ld(src, r, c));
    }
}

// Every element of dst = the element whose little-endian bytes are `bits` (size bytes).
extern "C" __global__ void data_fill(View dst, long long rows, int cols, unsigned long long bits) {
    int size = dt_size(dst.dt);
    ROWS_COLS(r, c, rows, cols) {
        char* p = at(dst, r, c);
        switch (size) {
            case 8: *(unsigned long long*) p = bits; break;
            case 4: *(unsigned*) p = (unsigned) bits; break;
            case 2: *(unsigned short*) p = (unsigned short) bits; break;
            default: *(unsigned char*) p = (unsigned char) bits; break;
        }
    }
}

// dst[i, :] = src[indices[i], :] byte for byte; an index outside [0, srcRows) is reported and its row skipped.
extern "C" __global__ void data_gather_rows(View src, const int* indices, View dst, int n, int cols, int srcRows,
        int* err, int errCode) {
    int size = dt_size(src.dt);
    ROWS_COLS(i, c, n, cols) {
        int idx = indices[i];
        if (idx < 0 || idx >= srcRows) {
            if (c == 0) {
                report_error(err, errCode, (int) i, idx, srcRows);
            }
            continue;
        }
        copy_elem(at(dst, i, c), at(src, idx, c), size);
    }
}

// A started read (Gpu.downloadLater): `bytes` device bytes at src and the 16-byte error word into
// pinned host memory mapped into the device (dst; the word at dst + errOffset). One block of stores
// instead of two copy-engine transfers, each of which held the stream for its round trip over the bus.
// Launched after the ops whose results it reads (no dependent launch), so every error is in the word.
extern "C" __global__ void data_copy_out(const unsigned char* src, long long bytes, const uint4* err,
        unsigned char* dst, long long errOffset) {
    const long long words = ((reinterpret_cast<unsigned long long>(src) & 15) == 0) ? bytes / 16 : 0;
    for (long long i = threadIdx.x; i < words; i += blockDim.x) {
        reinterpret_cast<uint4*>(dst)[i] = reinterpret_cast<const uint4*>(src)[i];
    }
    for (long long i = 16 * words + threadIdx.x; i < bytes; i += blockDim.x) {
        dst[i] = src[i];
    }
    if (threadIdx.x == 0) {
        *reinterpret_cast<uint4*>(dst + errOffset) = *err;
    }
}
