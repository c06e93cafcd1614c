"""Published figures of the accelerator the site prices work on: an NVIDIA A100, as
Dao (2023) quotes NVIDIA's numbers. One place, so the pages that use each rate agree."""

A100_NAME = "NVIDIA A100"
A100_FP32_FLOPS = 19.5e12  # float32 without tensor cores: the recurrence page's forwards
A100_TENSOR_FLOPS = 312e12  # fp16/bf16 on its tensor cores: what language models run in
A100_MEMORY_BYTES = 80 * 2**30  # the larger model: 80 GiB (81,920 MiB), sold as "80GB"
