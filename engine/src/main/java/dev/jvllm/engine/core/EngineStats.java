package dev.jvllm.engine.core;

import dev.jvllm.api.DeviceMemory;

/**
 * Counters of an {@link EngineCore} since it started, and its current occupancy.
 *
 * @param steps                 forward passes run
 * @param promptTokensComputed  prompt positions run through the model (again after a preemption)
 * @param cachedTokens          tokens served from the prefix cache instead of computed: prompt tokens, and
 *                              a preempted sequence's earlier tokens when it resumes
 * @param generatedTokens       tokens sampled
 * @param preemptions           sequences preempted (by recompute) because the KV cache was full
 * @param blocksInUse           KV-cache blocks held by sequences now
 * @param totalBlocks           KV-cache blocks in the pool
 * @param stateSlotsInUse       per-sequence state slots held now (models with stateful layers)
 * @param running               sequences being computed
 * @param waiting               sequences queued (new or preempted)
 * @param kvBlockBytes          bytes of one KV-cache block over all attention layers and ranks (the
 *                              cache holds {@code totalBlocks} of them)
 * @param modelDeviceBytes      device memory the loaded model held when the engine started (its weights, as
 *                              stored: quantized formats stay packed, and buffers such as rotary tables),
 *                              summed over ranks; −1 on backends whose tensors live in host memory
 * @param deviceMemory          the ranks' device memory now (in use, peak and reserved, summed over ranks), or
 *                              null on backends whose tensors live in host memory
 */
public record EngineStats(long steps, long promptTokensComputed, long cachedTokens, long generatedTokens,
        long preemptions, int blocksInUse, int totalBlocks, int stateSlotsInUse, int running, int waiting,
        long kvBlockBytes, long modelDeviceBytes, DeviceMemory deviceMemory) {
}
