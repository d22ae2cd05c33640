package dev.jvllm.engine.hub;

/**
 * A model could not be fetched from the hub or found in the cache. The message names the repository,
 * the revision or file, and what to do (set {@code HF_TOKEN}, unset {@code HF_HUB_OFFLINE}, run again to
 * resume, ...).
 */
public class HubException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }
}
