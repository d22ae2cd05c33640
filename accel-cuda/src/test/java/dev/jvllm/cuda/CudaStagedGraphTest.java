package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.DType;
import dev.jvllm.api.OpGraph;
import dev.jvllm.api.PendingRead;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.api.ops.GatherRows;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Staged captures ({@link CudaBackend#capture(Runnable, Tensor, Tensor)}), in both forms: the input
 * and output copies recorded into the graph ({@link StagedIo}, inGraph = true) and the portable write
 * + replay + readLater (the API's default, {@code -Djvllm.cuda.stagedGraphs=false}). The body gathers
 * table rows by the input's indices and takes each row's argmax into the output, so every token says
 * which index its replay read. Skipped without a usable GPU (with the provider's reason).
 */
class CudaStagedGraphTest {
    private static final int ROWS = 8, VOCAB = 64, COLS = 96;
    private static CudaBackend cuda;
    private static Tensor table;

    @BeforeAll
    static void open() {
        BackendProvider.Probe p = new CudaProvider().probe();
        Assumptions.assumeTrue(p.available(), () -> "no usable CUDA device: " + p.reason());
        cuda = (CudaBackend) new CudaProvider().create(BackendOptions.defaults());
        Random r = new Random(11);
        float[] t = new float[VOCAB * COLS];
        for (int v = 0; v < VOCAB; v++) {
            for (int c = 0; c < COLS; c++) {
                t[v * COLS + c] = r.nextFloat();
            }
            t[v * COLS + peak(v)] = 10f;
        }
        table = Tensors.fromFloats(cuda, DType.F32, t, VOCAB, COLS);
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
    }

    @AfterEach
    void bothFormsBack() {
        cuda.useStagedGraphs(true);
    }

    /** The column of row v's largest value: what the body's argmax gives for index v. */
    private static int peak(int v) {
        return v * 37 % COLS;
    }

    private static int[] expected(int[] indices) {
        return Arrays.stream(indices).map(CudaStagedGraphTest::peak).toArray();
    }

    /** tokens[i] = argmax(table[indices[i]]), through workspace the body allocates. */
    private static void body(Tensor indices, Tensor tokens) {
        try (Tensor rows = cuda.allocate(DType.F32, ROWS, COLS)) {
            cuda.gatherRows(new GatherRows(table, indices, rows));
            cuda.argmax(new Argmax(rows, tokens));
        }
    }

    private static int[] randomIndices(Random r) {
        return r.ints(ROWS, 0, VOCAB).toArray();
    }

    /** The input's rows from {@code first} on, as a staged replay takes them. */
    private static MemorySegment from(int[] indices, int first) {
        return MemorySegment.ofArray(Arrays.copyOfRange(indices, first, indices.length));
    }

    private static int[] await(PendingRead read) {
        MemorySegment dst = MemorySegment.ofArray(new int[ROWS]);
        read.await(dst);
        return dst.toArray(java.lang.foreign.ValueLayout.JAVA_INT);
    }

    /**
     * Replays with the rows before a random first row written by an op enqueued before (as an engine's
     * device ids), each read awaited after the next replay is launched (as an async engine does).
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void eachStagedReplayReadsItsOwnInputAndOutput(boolean inGraph) {
        cuda.useStagedGraphs(inGraph);
        Random r = new Random(inGraph ? 21 : 22);
        try (Tensor in = cuda.allocate(DType.I32, ROWS); Tensor tokens = cuda.allocate(DType.I32, ROWS);
                OpGraph g = cuda.capture(() -> body(in, tokens), in, tokens)) {
            PendingRead previous = null;
            int[] previousExpected = null;
            for (int i = 0; i < 40; i++) {
                int[] indices = randomIndices(r);
                int first = i % 5 == 0 ? 0 : r.nextInt(ROWS + 1);
                if (first > 0) {
                    Tensors.writeInts(in.slice(0, first), Arrays.copyOf(indices, first));
                }
                PendingRead read = g.replay(from(indices, first), first);
                if (previous != null) {
                    assertArrayEquals(previousExpected, await(previous), "replay " + (i - 1));
                }
                previous = read;
                previousExpected = expected(indices);
            }
            assertArrayEquals(previousExpected, await(previous), "the last replay");
        }
    }

    /** Reads left pending over many replays keep their own values; closing one unread frees its slot. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void readsHeldOverManyReplaysKeepTheirValues(boolean inGraph) {
        cuda.useStagedGraphs(inGraph);
        Random r = new Random(inGraph ? 31 : 32);
        try (Tensor in = cuda.allocate(DType.I32, ROWS); Tensor tokens = cuda.allocate(DType.I32, ROWS);
                OpGraph g = cuda.capture(() -> body(in, tokens), in, tokens)) {
            for (int round = 0; round < 3; round++) {
                ArrayDeque<PendingRead> reads = new ArrayDeque<>();
                List<int[]> expect = new ArrayList<>();
                for (int i = 0; i < 9; i++) {
                    int[] indices = randomIndices(r);
                    reads.add(g.replay(from(indices, 0), 0));
                    expect.add(expected(indices));
                }
                for (int i = 0; i < 9; i++) {
                    PendingRead read = reads.poll();
                    if (i % 3 == 1) {
                        read.close(); // never awaited
                        assertThrows(IllegalStateException.class, () -> await(read));
                    } else {
                        assertArrayEquals(expect.get(i), await(read), "round " + round + ", replay " + i);
                        assertThrows(IllegalStateException.class, () -> await(read), "a read is awaited once");
                    }
                }
            }
        }
    }

    /** A plain replay of a staged graph reads the input tensor as written; staged replays go on after it. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aPlainReplayReadsTheInputAsItIs(boolean inGraph) {
        cuda.useStagedGraphs(inGraph);
        Random r = new Random(41);
        try (Tensor in = cuda.allocate(DType.I32, ROWS); Tensor tokens = cuda.allocate(DType.I32, ROWS);
                OpGraph g = cuda.capture(() -> body(in, tokens), in, tokens)) {
            int[] staged = randomIndices(r);
            assertArrayEquals(expected(staged), await(g.replay(from(staged, 0), 0)));
            int[] written = randomIndices(r);
            Tensors.writeInts(in, written);
            g.replay();
            assertArrayEquals(expected(written), Tensors.toInts(tokens), "a plain replay after a staged one");
            int[] again = randomIndices(r);
            assertArrayEquals(expected(again), await(g.replay(from(again, 0), 0)), "a staged replay after a plain one");
        }
    }

    /** Without an output a staged replay returns no read, and its input still lands. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void withoutAnOutputNothingIsRead(boolean inGraph) {
        cuda.useStagedGraphs(inGraph);
        Random r = new Random(51);
        try (Tensor in = cuda.allocate(DType.I32, ROWS); Tensor tokens = cuda.allocate(DType.I32, ROWS);
                OpGraph g = cuda.capture(() -> body(in, tokens), in, null)) {
            for (int i = 0; i < 5; i++) {
                int[] indices = randomIndices(r);
                assertNull(g.replay(from(indices, 0), 0));
                assertArrayEquals(expected(indices), Tensors.toInts(tokens), "replay " + i);
            }
        }
    }

    /**
     * An index the gather rejects surfaces at the read of its replay with the op's message; the replays
     * before and after it are unaffected.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aReportedErrorSurfacesAtItsReplaysRead(boolean inGraph) {
        cuda.useStagedGraphs(inGraph);
        Random r = new Random(61);
        try (Tensor in = cuda.allocate(DType.I32, ROWS); Tensor tokens = cuda.allocate(DType.I32, ROWS);
                OpGraph g = cuda.capture(() -> body(in, tokens), in, tokens)) {
            int[] good = randomIndices(r);
            PendingRead before = g.replay(from(good, 0), 0);
            int[] bad = randomIndices(r);
            bad[3] = VOCAB + 5;
            PendingRead failing = g.replay(from(bad, 0), 0);
            assertArrayEquals(expected(good), await(before));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> await(failing));
            assertTrue(e.getMessage().contains("gather_rows: indices[3] = " + (VOCAB + 5)), e.getMessage());
            int[] after = randomIndices(r);
            assertArrayEquals(expected(after), await(g.replay(from(after, 0), 0)), "the replay after the error");
        }
    }

    /** Bad arguments fail before anything is enqueued, naming what is wrong; the graph goes on. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void badArgumentsFailAndLeaveTheGraphUsable(boolean inGraph) {
        cuda.useStagedGraphs(inGraph);
        Random r = new Random(71);
        try (Tensor in = cuda.allocate(DType.I32, ROWS); Tensor tokens = cuda.allocate(DType.I32, ROWS);
                Tensor wide = cuda.allocate(DType.I32, 2, ROWS)) {
            IllegalArgumentException strided = assertThrows(IllegalArgumentException.class,
                    () -> cuda.capture(() -> body(in, tokens), wide.narrowLast(0, 4), tokens));
            assertTrue(strided.getMessage().contains("must be a contiguous"), strided.getMessage());
            assertThrows(IllegalArgumentException.class, () -> cuda.capture(() -> body(in, tokens), null, tokens));
            try (OpGraph g = cuda.capture(() -> body(in, tokens), in, tokens)) {
                int[] indices = randomIndices(r);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> g.replay(from(indices, 1), 0));
                assertTrue(e.getMessage().contains("need " + 4 * ROWS), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> g.replay(from(indices, 0), -1));
                assertThrows(IllegalArgumentException.class, () -> g.replay(from(indices, 0), ROWS + 1));
                Tensors.writeInts(in, indices);
                assertArrayEquals(expected(indices), await(g.replay(MemorySegment.ofArray(new int[0]), ROWS)),
                        "every row written before: nothing staged");
            }
        }
    }

    /** A read outlives its graph: closing the graph leaves the held slot until the read ends. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aReadOutlivesItsGraph(boolean inGraph) {
        cuda.useStagedGraphs(inGraph);
        int[] indices = randomIndices(new Random(81));
        try (Tensor in = cuda.allocate(DType.I32, ROWS); Tensor tokens = cuda.allocate(DType.I32, ROWS)) {
            OpGraph g = cuda.capture(() -> body(in, tokens), in, tokens);
            PendingRead read = g.replay(from(indices, 0), 0);
            PendingRead dropped = g.replay(from(indices, 0), 0);
            g.close();
            assertThrows(IllegalStateException.class, g::replay);
            assertArrayEquals(expected(indices), await(read));
            dropped.close();
        }
    }
}
