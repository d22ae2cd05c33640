package dev.jvllm.engine.cli;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;

/**
 * What this process has spent so far: CPU time of all its threads (kernel workers, JIT compilers and
 * GC threads included) and the time its garbage collectors report. The difference of two samples is
 * what a benchmark's measured part cost; on a shared machine the CPU time is the steadier figure,
 * since waiting for a core adds wall time but no CPU time.
 *
 * @param cpuNanos  process CPU time, or -1 where the JVM does not report it
 * @param gcMillis  the collectors' accumulated collection time
 * @param gcCount   the collectors' accumulated collection count
 */
record ProcessCost(long cpuNanos, long gcMillis, long gcCount) {
    static ProcessCost sample() {
        long cpu = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : -1;
        long ms = 0, n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ms += Math.max(0, gc.getCollectionTime());
            n += Math.max(0, gc.getCollectionCount());
        }
        return new ProcessCost(cpu, ms, n);
    }

    /** This sample minus an earlier one (CPU time -1 when either lacks it). */
    ProcessCost since(ProcessCost earlier) {
        return new ProcessCost(cpuNanos < 0 || earlier.cpuNanos < 0 ? -1 : cpuNanos - earlier.cpuNanos,
                gcMillis - earlier.gcMillis, gcCount - earlier.gcCount);
    }
}
