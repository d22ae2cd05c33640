package dev.jvllm.engine;

import dev.jvllm.engine.core.CompletionDelta;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One request's output as it is generated, for a consuming thread: iterate the deltas (blocking
 * until the engine produces the next), then read {@link #output()}. Closing it before the end
 * aborts the request. One consumer thread per stream.
 *
 * <pre>{@code
 * try (TokenStream s = llm.stream(Prompt.of("Once upon a time"), params)) {
 *     for (CompletionDelta d : s) {
 *         System.out.print(d.text());
 *     }
 * }
 * }</pre>
 */
public final class TokenStream implements Iterator<CompletionDelta>, Iterable<CompletionDelta>, AutoCloseable {
    private static final Object END = new Object();

    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private RequestHandle handle;
    private Object next;
    private boolean ended;

    TokenStream() {
    }

    void attach(RequestHandle h) {
        this.handle = h;
    }

    /** The engine-thread side: what it feeds into the queue. */
    OutputListener listener() {
        return new OutputListener() {
            @Override
            public void onDelta(CompletionDelta delta) {
                queue.add(delta);
            }

            @Override
            public void onFinished(RequestOutput output) {
                queue.add(END);
            }

            @Override
            public void onError(Throwable error) {
                queue.add(error);
            }
        };
    }

    @Override
    public Iterator<CompletionDelta> iterator() {
        return this;
    }

    /** Blocks until the next delta or the end. */
    @Override
    public boolean hasNext() {
        if (next == null && !ended) {
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                handle.abort();
                throw new CancellationException("interrupted while streaming request " + handle.requestId());
            }
            if (next == END) {
                ended = true;
                next = null;
            } else if (next instanceof Throwable t) {
                ended = true;
                next = null;
                throw new IllegalStateException("request " + handle.requestId() + " failed: " + t.getMessage(), t);
            }
        }
        return next != null;
    }

    @Override
    public CompletionDelta next() {
        if (!hasNext()) {
            throw new NoSuchElementException("request " + handle.requestId() + " has ended");
        }
        CompletionDelta d = (CompletionDelta) next;
        next = null;
        return d;
    }

    /** The request's id. */
    public String requestId() {
        return handle.requestId();
    }

    /** The final output; waits for the end of the request. */
    public RequestOutput output() {
        try {
            return handle.result().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted waiting for request " + handle.requestId());
        } catch (ExecutionException e) {
            throw new IllegalStateException("request " + handle.requestId() + " failed: " + e.getCause().getMessage(),
                    e.getCause());
        }
    }

    /** Aborts the request if it is still running. */
    @Override
    public void close() {
        if (!handle.result().isDone()) {
            handle.abort();
        }
    }
}
