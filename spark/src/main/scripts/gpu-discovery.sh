#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Spark's GPU resource discovery script (spark.worker.resource.gpu.discoveryScript in standalone mode,
# spark.executor.resource.gpu.discoveryScript on Kubernetes and YARN, spark.driver.resource.gpu.discoveryScript
# for the driver): prints the GPUs this machine or container sees as the JSON Spark reads,
#   {"name": "gpu", "addresses": ["0", "1", ...]}
# with nvidia-smi's indices. sdxl4j-spark binds each task to the CUDA device of the address Spark gives it,
# so the executors should run with CUDA_DEVICE_ORDER=PCI_BUS_ID (spark.executorEnv.CUDA_DEVICE_ORDER), the
# order nvidia-smi numbers the GPUs in.
set -euo pipefail

indices=$(nvidia-smi --query-gpu=index --format=csv,noheader)
addresses=""
for i in $indices; do
  addresses="${addresses:+$addresses, }\"$i\""
done
echo "{\"name\": \"gpu\", \"addresses\": [$addresses]}"
