package dev.jvllm.models.loader;

/**
 * A {@code config.json} is malformed, lacks a field a model needs, or holds a value of the
 * wrong type. The message names the file, the field, the value found and what was expected.
 */
public final class ConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
