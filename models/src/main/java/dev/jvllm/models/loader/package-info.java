/**
 * Reading Hugging Face checkpoints: safetensors weights and {@code config.json}.
 *
 * <ul>
 *   <li>{@link dev.jvllm.models.loader.Checkpoint}: a model directory's weights (single file,
 *       sharded by index, or every *.safetensors), memory-mapped, name → {@link
 *       dev.jvllm.models.loader.CheckpointTensor} (zero-copy slices of the mapping);</li>
 *   <li>{@link dev.jvllm.models.loader.SafetensorsFile}: one file, strictly validated at open;</li>
 *   <li>{@link dev.jvllm.models.loader.SafetensorsWriter}: writes safetensors (test fixtures,
 *       {@code jvllm logits --output});</li>
 *   <li>{@link dev.jvllm.models.loader.ModelConfig} and {@link dev.jvllm.models.loader.RopeScaling}:
 *       a typed view of config.json across transformers 4 and 5 spellings.</li>
 * </ul>
 *
 * Malformed input fails with {@link dev.jvllm.models.loader.SafetensorsException} or
 * {@link dev.jvllm.models.loader.ConfigException}, never anything else; both name the file and
 * the tensor or field. The fuzz tests hold the parsers to that.
 */
package dev.jvllm.models.loader;
