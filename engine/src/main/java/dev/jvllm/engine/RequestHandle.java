package dev.jvllm.engine;

import java.util.concurrent.CompletableFuture;

/** A submitted request: its final output (a future) and a way to abort it. Thread-safe. */
public final class RequestHandle {
    private final String requestId;
    private final CompletableFuture<RequestOutput> result;
    private final LLM llm;

    RequestHandle(String requestId, CompletableFuture<RequestOutput> result, LLM llm) {
        this.requestId = requestId;
        this.result = result;
        this.llm = llm;
    }

    public String requestId() {
        return requestId;
    }

    /**
     * Completes with the output when every completion finished (aborted ones included), or
     * exceptionally when the engine failed or was closed first.
     */
    public CompletableFuture<RequestOutput> result() {
        return result;
    }

    /** Stops the request at the next step boundary; its result then holds what was generated, finish reason abort. */
    public void abort() {
        llm.abort(requestId);
    }
}
