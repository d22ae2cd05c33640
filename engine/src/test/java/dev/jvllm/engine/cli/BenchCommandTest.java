package dev.jvllm.engine.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** {@code jvllm bench}: both modes report their figures; bad arguments are usage errors. */
class BenchCommandTest {
    static final String MODEL = ModelCommandsTest.FIXTURE.toString();

    @Test
    void latencyReportsPrefillDecodeAndTimePerOutputToken() throws Exception {
        ModelCommandsTest.Result r = ModelCommandsTest.run("bench", "latency", "--model", MODEL, "--input-len", "8",
                "--output-len", "6", "--batch-size", "2", "--num-iters", "2", "--num-iters-warmup", "0", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        for (String k : new String[] {"latency_mean_s", "latency_p50_s", "latency_p90_s", "prefill_tok_s", "decode_tok_s",
                "time_per_output_token_ms"}) {
            assertTrue(j.get(k).asDouble() > 0, k + " in " + r.out());
        }
        assertEquals(2, j.get("batch_size").asInt());
        // memory: the peak covers the current resident set, which is anonymous + file pages
        long peak = j.get("rss_peak_bytes").asLong(), rss = j.get("rss_bytes").asLong();
        assertTrue(peak >= rss && rss > 0, r.out());
        assertEquals(rss, j.get("rss_anon_bytes").asLong() + j.get("rss_file_bytes").asLong(), 64 << 20, r.out());
        long weights = j.get("weights_bytes").asLong(), kvUsed = j.get("kv_used_bytes").asLong();
        assertTrue(weights > 0 && kvUsed > 0 && kvUsed <= j.get("kv_cache_bytes").asLong(), r.out());
        assertEquals((double) peak / (weights + kvUsed), j.get("rss_peak_over_weights_kv").asDouble(), 1e-9, r.out());
        long heap = j.get("heap_committed_bytes").asLong();
        assertTrue(heap > 0, r.out()); // committed, not necessarily touched: may exceed the resident set
        // cost of the measured runs: they computed, so they took CPU time
        assertTrue(j.get("cpu_time_mean_s").asDouble() > 0, r.out());
        assertTrue(j.get("gc_count_mean").asDouble() >= 0 && j.get("gc_time_mean_ms").asDouble() >= 0, r.out());
    }

    @Test
    void processCostSubtractsAnEarlierSample() {
        assertEquals(new ProcessCost(300, 20, 2), new ProcessCost(1300, 70, 7).since(new ProcessCost(1000, 50, 5)));
        assertEquals(-1, new ProcessCost(-1, 70, 7).since(new ProcessCost(1000, 50, 5)).cpuNanos(), "no CPU time: -1");
        ProcessCost a = ProcessCost.sample();
        double x = 0;
        for (int i = 0; i < 20_000_000; i++) {
            x += Math.sqrt(i);
        }
        ProcessCost spent = ProcessCost.sample().since(a);
        assertTrue(x > 0 && spent.cpuNanos() > 0 && spent.gcCount() >= 0, spent.toString());
    }

    @Test
    void processMemoryReadsTheStatusFieldsInKibibytes() {
        String status = "Name:\tjava\nVmPeak:\t 9000 kB\nVmHWM:\t  3000 kB\nVmRSS:\t  2000 kB\n"
                + "RssAnon:\t 1500 kB\nRssFile:\t 480 kB\nRssShmem:\t 20 kB\nThreads:\t12\n";
        assertEquals(new ProcessMemory(3000 * 1024L, 2000 * 1024L, 1500 * 1024L, 480 * 1024L), ProcessMemory.parse(status));
        assertNull(ProcessMemory.parse("Name:\tjava\nVmRSS:\t 2000 kB\n"), "no VmHWM: not reported");
    }

    @Test
    void throughputCountsEveryGeneratedToken() throws Exception {
        ModelCommandsTest.Result r = ModelCommandsTest.run("bench", "throughput", "--model", MODEL, "--input-len", "8",
                "--output-len", "5", "--num-prompts", "6", "--json", "--max-num-seqs", "4");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        double s = j.get("elapsed_s").asDouble();
        assertEquals(6 * 5 / s, j.get("output_tok_s").asDouble(), 1e-6 * j.get("output_tok_s").asDouble());
        assertEquals(6 * (8 + 5) / s, j.get("total_tok_s").asDouble(), 1e-6 * j.get("total_tok_s").asDouble());
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertEquals(2, ModelCommandsTest.run("bench").code());
        assertEquals(2, ModelCommandsTest.run("bench", "speed", "--model", MODEL).code());
        assertEquals(2, ModelCommandsTest.run("bench", "latency", "--model", MODEL, "--output-len", "0").code());
    }
}
