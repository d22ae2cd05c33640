package dev.jvllm.cuda;

/** A CUDA driver or cuBLAS call failed; the message names the call and the library's error name and text. */
public final class CudaException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final int code;

    CudaException(String call, int code, String error) {
        super(call + " failed: " + error);
        this.code = code;
    }

    CudaException(String message) {
        super(message);
        this.code = -1;
    }

    /** The CUresult or cublasStatus_t value, or -1 when the failure is not a library return code. */
    public int code() {
        return code;
    }
}
