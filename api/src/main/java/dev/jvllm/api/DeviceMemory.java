package dev.jvllm.api;

/**
 * A device backend's memory held for tensors, in bytes (see {@link Backend#deviceMemory()}).
 *
 * @param inUse    bytes of live tensors now
 * @param peak     the largest {@code inUse} since the backend was created
 * @param reserved bytes obtained from the device: {@code inUse} plus freed blocks a caching
 *                 allocator keeps for reuse (what other processes cannot have)
 */
public record DeviceMemory(long inUse, long peak, long reserved) {
}
