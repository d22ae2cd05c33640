package dev.jvllm.cuda;

import dev.jvllm.api.BackendProvider;

/**
 * Prints what a tensor-parallel group on this machine will use: the CUDA devices and, for every
 * ordered pair, whether the driver allows direct peer access (else {@link CudaGroup}'s copies between
 * them are staged through host memory). Run on a GPU machine with
 * {@code bash tools/gpu/run-tests.sh --main dev.jvllm.cuda.CudaTopology}.
 */
public final class CudaTopology {
    private CudaTopology() {
    }

    public static void main(String[] args) {
        BackendProvider.Probe p = new CudaProvider().probe();
        System.out.println("cuda: " + (p.available() ? "available" : "unavailable") + " (" + p.reason() + ")");
        if (!p.available()) {
            return;
        }
        Driver.init();
        int n = Driver.deviceCount();
        System.out.println("devices: " + n);
        int[] dev = new int[n];
        for (int i = 0; i < n; i++) {
            dev[i] = Driver.device(i);
            System.out.println("  " + i + ": " + Driver.deviceName(dev[i]));
        }
        if (n < 2) {
            System.out.println("peer access: n/a (one device: every rank of a group shares it)");
            return;
        }
        System.out.println("peer access (row: device that reads, column: device read; yes = direct, staged = through host):");
        StringBuilder head = new StringBuilder("      ");
        for (int j = 0; j < n; j++) {
            head.append(String.format("%7d", j));
        }
        System.out.println(head);
        for (int i = 0; i < n; i++) {
            StringBuilder row = new StringBuilder(String.format("  %3d ", i));
            for (int j = 0; j < n; j++) {
                row.append(String.format("%7s", i == j ? "-" : Driver.canAccessPeer(dev[i], dev[j]) ? "yes" : "staged"));
            }
            System.out.println(row);
        }
    }
}
