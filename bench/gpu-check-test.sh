#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Tests bench/gpu-check.sh on a machine without a GPU, up to the point where a GPU is needed:
# stages the parts (builds the jars, jlinks the runtime, splits, sums), replays the device calls
# the staging printed in a scratch folder (each call sees only its own carried parts, as on the
# device), checks that a damaged part and a part out of order are refused, then runs the dry run
# from what was unpacked: the staged runtime and jars, a small synthetic fp16 model written by the
# same code as the full one, the device code path on the CPU with fused attention off and on, and
# the CUDA provider, which must stop for want of a GPU.
#
#   bench/gpu-check-test.sh [--no-stage]    (--no-stage: reuse the parts in bench/gpu-stage)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT=$ROOT/bench/gpu-check.sh
PARTS=$ROOT/bench/gpu-stage
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-test.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
failures=0

check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}

if [ "${1:-}" != "--no-stage" ]; then
  "$SCRIPT" stage
fi
[ -f "$PARTS/CALLS" ] || { echo "no staging in $PARTS"; exit 1; }

check "every part is at most 40 MB" bash -c "! find '$PARTS' -name 'part-*' -size +40000000c | grep -q ."
check "the sums cover every part and both files" bash -c "[ \$(grep -c . '$PARTS/SHA256SUMS') -eq \$((\$(grep -c . '$PARTS/PARTS') + 2)) ]"
check "the parts match their sums here" bash -c "cd '$PARTS' && grep ' part-' SHA256SUMS | sha256sum -c --quiet"

STAGE=$SCRATCH/stage
TREE=$SCRATCH/tree/bench/gpu-stage
device_call() { # the parts carried in this call, then the command's arguments
  local carried=$1; shift
  rm -rf "$TREE" && mkdir -p "$TREE"
  cp "$PARTS/SHA256SUMS" "$PARTS/PARTS" "$TREE/"
  local p
  for p in $carried; do cp "$PARTS/part-$p" "$TREE/"; done
  GPU_CHECK_PARTS=$TREE GPU_CHECK_STAGE=$STAGE "$SCRIPT" "$@"
}

# A damaged part is refused; a part before its predecessor is refused.
first=$(awk 'NR == 1 {print substr($1, 6)}' "$PARTS/PARTS")
second=$(awk 'NR == 2 {print substr($1, 6)}' "$PARTS/PARTS")
rm -rf "$TREE" && mkdir -p "$TREE" && cp "$PARTS/SHA256SUMS" "$PARTS/PARTS" "$TREE/"
head -c 1000 "$PARTS/part-$first" > "$TREE/part-$first"
check "a damaged part is refused" bash -c "! GPU_CHECK_PARTS='$TREE' GPU_CHECK_STAGE='$STAGE' '$SCRIPT' unpack $first >/dev/null 2>&1"
check "a part out of order is refused" bash -c "! ( rm -rf '$TREE' && mkdir -p '$TREE' && cp '$PARTS/SHA256SUMS' '$PARTS/PARTS' '$PARTS/part-$second' '$TREE/' \
  && GPU_CHECK_PARTS='$TREE' GPU_CHECK_STAGE='$STAGE' '$SCRIPT' unpack $second ) >/dev/null 2>&1"

# The calls the staging printed, in order.
while read -r line; do
  parts=$(echo "$line" | sed -n 's/.*gpu-check.sh unpack \([0-9 ]*\)".*/\1/p')
  [ -n "$parts" ] || continue
  echo "---- device call: unpack $parts"
  check "call 'unpack $parts'" device_call "$parts" unpack $parts
done < "$PARTS/CALLS"
again() {
  local out
  out=$(device_call "$first" unpack "$first") && echo "$out" | grep -q 'appended already' \
    && echo "$out" | grep -q 'unpacked already'
}
check "unpacking a part again is harmless" again

check "the jars match their sums" bash -c "cd '$STAGE/jars' && sha256sum -c --quiet SHA256SUMS"
check "the GPU build of ONNX Runtime is among them" bash -c "unzip -l '$STAGE/jars/onnxruntime-gpu.jar' | grep -q libonnxruntime_providers_cuda.so"
check "the app jar has no CPU build of ONNX Runtime" bash -c "! unzip -l '$STAGE/jars/app.jar' | grep -q 'onnxruntime/linux-x86_64/'"
check "the staged runtime starts" "$STAGE/jre/bin/java" -version

echo "---- dry run"
set +e
GPU_CHECK_STAGE=$STAGE OUT=$SCRATCH/out "$SCRIPT" dry-run 2>&1 | tee "$SCRATCH/dry-run.txt"
status=${PIPESTATUS[0]}
set -e
check "the dry run passes" [ "$status" = 0 ]
check "it ran on the staged runtime, with the GPU build's CUDA provider compiled in" grep -q "CUDAExecutionProvider" "$SCRATCH/dry-run.txt"
check "it wrote the synthetic fp16 model" grep -q "model: wrote" "$SCRATCH/dry-run.txt"
check "two configurations timed" bash -c "[ \$(grep -c '^RESULT' '$STAGE/results.txt') -eq 2 ]"
check "the fused flag reached the benchmark" grep -q "fused=" "$STAGE/results.txt"
check "each has a whole image and a step time" bash -c "grep -c 'image_s=[0-9]' '$STAGE/results.txt' | grep -q 2 && grep -c 'step_ms=[0-9]' '$STAGE/results.txt' | grep -q 2"
check "the device path ran (javacpp-resident)" grep -q "device-resident loop" "$SCRATCH/dry-run.txt"
check "CUDA stops for want of a GPU" grep -q "CUDA probe: stops where a GPU is needed" "$SCRATCH/dry-run.txt"

echo "---- run's control flow, with a stand-in nvidia-smi (the configurations must fail for want of a GPU)"
mkdir -p "$SCRATCH/bin"
cat > "$SCRATCH/bin/nvidia-smi" <<'FAKE'
#!/usr/bin/env bash
case "$*" in
  *-lms*) while true; do echo 1234; sleep 0.1; done;;
  *name,driver_version*) echo "stand-in GPU, 0.0, 1 MiB";;
  *) echo "stand-in nvidia-smi";;
esac
FAKE
chmod +x "$SCRATCH/bin/nvidia-smi"
set +e
PATH=$SCRATCH/bin:$PATH GPU_CHECK_STAGE=$STAGE GPU_CHECK_MODEL=$STAGE/dry-run-model OUT=$SCRATCH/out-run \
  GPU_CHECK_SIZE=64 GPU_CHECK_STEPS=2 GPU_CHECK_IMAGES=1 "$SCRIPT" run cuda cuda-graph-fused 2>&1 | tee "$SCRATCH/run.txt"
status=${PIPESTATUS[0]}
PATH=$SCRATCH/bin:$PATH GPU_CHECK_STAGE=$STAGE GPU_CHECK_MODEL=$STAGE/dry-run-model OUT=$SCRATCH/out-budget \
  GPU_CHECK_BUDGET=1 "$SCRIPT" run > "$SCRATCH/budget.txt" 2>&1
budget_status=$?
set -e
check "run completes and writes its machine report and summary" bash -c "[ $status = 0 ] && [ -s '$SCRATCH/out-run/machine.txt' ] && [ -s '$SCRATCH/out-run/summary.txt' ]"
check "the configuration failed at the CUDA runtime, logged" grep -q 'cannot open CUDA device' "$SCRATCH/out-run/log-cuda.txt"
check "the fused configuration ran with fused attention on" \
  bash -c "grep -q 'fused attention in this build.s PipelineOptions: yes' '$SCRATCH/run.txt' && grep -q 'cannot open CUDA device' '$SCRATCH/out-run/log-cuda-graph-fused.txt'"
check "the memory sampler ran beside each and was stopped" bash -c "[ -s '$STAGE/memory-cuda.txt' ] && grep -q 'peak device memory (nvidia-smi, whole device) 1234 MiB' '$SCRATCH/run.txt' && ! pgrep -f 'nvidia-smi --query-gpu=memory[.]used' >/dev/null"
check "a budget too small skips every configuration" bash -c "[ $budget_status = 0 ] && [ \$(grep -c ': skipped' '$SCRATCH/budget.txt') = 4 ] && grep -q 'cuda: skipped, it would not fit' '$SCRATCH/budget.txt'"

if [ $failures = 0 ]; then echo "gpu-check-test: all checks passed"; else echo "gpu-check-test: $failures failed"; exit 1; fi
