"""The Python half of run.sh: huggingface_hub downloads org/tiny from the FakeHub into PY_CACHE, then
reads the cache jvllm filled (J_CACHE) without network."""
import os
import sys

from huggingface_hub import __version__, hf_hub_download, snapshot_download, try_to_load_from_cache
from huggingface_hub.file_download import _CACHED_NO_EXIST

py_cache, j_cache = sys.argv[1], sys.argv[2]
for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"]:
    hf_hub_download("org/tiny", f, cache_dir=py_cache)
print(f"huggingface_hub {__version__} downloaded org/tiny from the FakeHub into {py_cache}")
for f in ["config.json", "model.safetensors", "tokenizer.json"]:
    path = try_to_load_from_cache("org/tiny", f, cache_dir=j_cache)
    assert path and os.path.isfile(path), f
for f in ["special_tokens_map.json", "chat_template.jinja"]:
    assert try_to_load_from_cache("org/tiny", f, cache_dir=j_cache) is _CACHED_NO_EXIST, f
snapshot = snapshot_download("org/tiny", cache_dir=j_cache, local_files_only=True)
print(f"huggingface_hub reads jvllm's cache (files, .no_exist markers, snapshot {snapshot})")
