package dev.jvllm.engine.chat;

/**
 * A chat template could not be found, parsed or rendered. When the template itself rejected the
 * conversation ({@code raise_exception("Conversation roles must alternate ...")}), the message is the
 * template's own message, as Hugging Face transformers reports it, and {@link #rejectedByTemplate()} is
 * true: the conversation is at fault, not the template (an API server would answer 400).
 */
public class ChatTemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final boolean rejected;

    public ChatTemplateException(String message) {
        this(message, null, false);
    }

    public ChatTemplateException(String message, Throwable cause) {
        this(message, cause, false);
    }

    ChatTemplateException(String message, Throwable cause, boolean rejectedByTemplate) {
        super(message, cause);
        this.rejected = rejectedByTemplate;
    }

    /** True when the template's {@code raise_exception} rejected the conversation. */
    public boolean rejectedByTemplate() {
        return rejected;
    }
}
