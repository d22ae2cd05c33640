package dev.jvllm.cpu;

import dev.jvllm.api.Communicator;
import java.util.List;

/** In-process tensor-parallel ranks, one thread each: not implemented yet. */
final class InProcessGroup {
    private InProcessGroup() {
    }

    static List<Communicator> create(int worldSize) {
        if (worldSize == 1) {
            return List.of(Communicator.single());
        }
        throw new UnsupportedOperationException("in-process groups of " + worldSize + " ranks are not implemented yet");
    }
}
