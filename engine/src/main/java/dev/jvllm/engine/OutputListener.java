package dev.jvllm.engine;

import dev.jvllm.engine.core.CompletionDelta;

/**
 * Receives a request's output as it is generated. Every method runs between steps on the thread that
 * steps the engine (the engine thread, or a platform thread blocked in {@link LLM#generatePrompts},
 * which steps it while its requests run): keep it short (hand work to another thread), and do not
 * block on this LLM's results there. An exception it throws is reported on stderr and its request
 * goes on.
 */
public interface OutputListener {
    /** A step's new tokens and text for one completion (in order; the last one has a finish reason). */
    void onDelta(CompletionDelta delta);

    /** Every completion of the request has finished (also after an abort). */
    default void onFinished(RequestOutput output) {
    }

    /** The engine failed; no more calls follow. */
    default void onError(Throwable error) {
    }
}
