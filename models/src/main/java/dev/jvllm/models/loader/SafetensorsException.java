package dev.jvllm.models.loader;

/**
 * A safetensors file, or a checkpoint directory made of them, is malformed or inconsistent.
 *
 * <p>The message names the file (and the tensor or header field where there is one), what was
 * found, and what to do about it. Plain I/O failures (permission denied, disk errors) stay
 * {@link java.io.IOException}s; this type is only for content that jvllm refuses to read.
 */
public final class SafetensorsException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public SafetensorsException(String message) {
        super(message);
    }

    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
