#!/usr/bin/env python3
"""The GPU's measured memory bandwidth: a device-to-device copy of a 2 GiB buffer (bytes read +
bytes written per second, median of 20 after warm-up), the ceiling a bandwidth-bound decode step
is held to. Prints one JSON object."""
import json
import statistics

import torch


def main():
    n = 2 << 30
    src = torch.empty(n, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    times = []
    for _ in range(20):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    t = statistics.median(times)
    print(json.dumps({"device": torch.cuda.get_device_name(), "copy_bytes": n,
                      "copy_bandwidth_gb_s": 2 * n / t / 1e9}))


if __name__ == "__main__":
    main()
