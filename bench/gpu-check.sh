#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The GPU check of sdxl4j, in calls short enough for a lent GPU machine that has minutes, no
# network, and takes at most 64 MiB with each call (bench/GPU.md says how a session runs it).
#
#   here (a build machine):
#     bench/gpu-check.sh stage [--no-build]   build, jlink a runtime, split what the GPU machine needs into
#                                             parts of at most 40 MB with their sha256 sums, in bench/gpu-stage/
#     bench/gpu-check.sh park | unpark        move the conformance data out of the tree (so that a part fits
#                                             beside the tree in one call) and back
#     bench/gpu-check.sh dry-run              what `run` does, on this machine's CPU, from the unpacked parts
#                                             (GPU_CHECK_STAGE): a small synthetic model, the device code path on
#                                             the CPU, then the CUDA provider, which must stop for want of a GPU
#   there (the GPU machine, one call each):
#     bench/gpu-check.sh unpack N             check part N's sum and append it; after the last, check and unpack
#     bench/gpu-check.sh run [CONFIG...]      write the full-size synthetic SDXL fp16 (once), then time each
#                                             CONFIG: cuda-graph, cuda, cuda-graph-fused, cuda-fused (default: all,
#                                             in that order, as many as fit GPU_CHECK_BUDGET seconds)
#     bench/gpu-check.sh status               what is staged, the model, the results so far
#
# Environment: GPU_CHECK_STAGE (where parts are assembled; default $HOME/stage/sdxl4j), GPU_CHECK_MODEL
# (default $HOME/sdxl-synthetic-fp16), GPU_CHECK_PARTS (the parts' folder; default bench/gpu-stage),
# GPU_CHECK_CHUNK_BYTES (default 40000000), GPU_CHECK_BUDGET (seconds for `run`; default 540),
# GPU_CHECK_CONFIG_TIMEOUT (seconds per configuration; default 300), GPU_CHECK_SIZE (1024),
# GPU_CHECK_STEPS (30), GPU_CHECK_IMAGES (2), GPU_CHECK_CONV_SEARCH (EXHAUSTIVE), GPU_CHECK_FUSED_FLAG
# (the JVM option that turns fused attention on, "=true"/"=false" appended; default
# -Dsdxl4j.fusedAttention), GPU_CHECK_JAVA_OPTS (more JVM options), GPU_CHECK_DEBUG=1 (JavaCPP's loader log).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PARTS_DIR=${GPU_CHECK_PARTS:-$ROOT/bench/gpu-stage}
STAGE=${GPU_CHECK_STAGE:-$HOME/stage/sdxl4j}
MODEL=${GPU_CHECK_MODEL:-$HOME/sdxl-synthetic-fp16}
CHUNK_BYTES=${GPU_CHECK_CHUNK_BYTES:-40000000}
OUT_DIR=${OUT:-$STAGE/out}
M2=${M2_REPO:-$HOME/.m2/repository}
FUSED_FLAG=${GPU_CHECK_FUSED_FLAG:--Dsdxl4j.fusedAttention}
# The CUDA 13 libraries the CUDA provider of ONNX Runtime links (readelf -d of the preset's
# libonnxruntime_providers_cuda.so), and the driver and cudart, which the javacpp engine's copies
# (JavaCPP's libjnicudart.so) link.
NEEDED_LIBS="libcuda.so.1 libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcufft.so.12 libcudnn.so.9"
A40_REFERENCE_S=8

RUN_PREFIX=()
JAVA_EXTRA=()

die() { echo "gpu-check: $*" >&2; exit 1; }
say() { echo "gpu-check: $*"; }

pom_property() {
  sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$ROOT/pom.xml" | head -1
}

# --- staging, here --------------------------------------------------------------------------------

maven_jar() { # group artifact version classifier -> path in the local repository, fetched when absent
  local g=$1 a=$2 v=$3 c=$4
  local f="$M2/${g//.//}/$a/$v/$a-$v-$c.jar"
  if [ ! -f "$f" ]; then
    say "fetching $g:$a:$v:$c (needs the Maven repository once)" >&2
    mvn -B -q dependency:get -Dartifact="$g:$a:$v:jar:$c" -Dtransitive=false >/dev/null \
      || die "$g:$a:$v:$c is not in $M2 and cannot be fetched"
  fi
  if [ -f "$f.sha1" ]; then
    [ "$(sha1sum "$f" | cut -d' ' -f1)" = "$(cut -c1-40 "$f.sha1")" ] || die "$f does not match its .sha1"
  fi
  echo "$f"
}

java_home() {
  if [ -n "${JAVA_HOME:-}" ]; then echo "$JAVA_HOME"; return; fi
  local j; j=$(command -v java) || die "no JDK: set JAVA_HOME"
  dirname "$(dirname "$(readlink -f "$j")")"
}

stage() {
  local build=1
  [ "${1:-}" = "--no-build" ] && build=0
  local jh; jh=$(java_home)
  [ -x "$jh/bin/jlink" ] || die "$jh has no jlink"
  if [ $build = 1 ]; then
    say "building the benchmarks jar (mvn -o -pl bench -am package -DskipTests)"
    (cd "$ROOT" && JAVA_HOME=$jh PATH=$jh/bin:$PATH mvn -B -o -q -pl bench -am package -DskipTests) \
      || die "build failed"
  fi
  local shaded=$ROOT/bench/target/benchmarks.jar
  [ -f "$shaded" ] || die "$shaded missing (run without --no-build)"
  local ort_version cuda_version
  ort_version=$(pom_property bytedeco.onnxruntime.version)
  cuda_version=$(pom_property bytedeco.cuda.version)
  local ort_gpu cuda_natives
  ort_gpu=$(maven_jar org.bytedeco onnxruntime "$ort_version" linux-x86_64-gpu)
  cuda_natives=$(maven_jar org.bytedeco cuda "$cuda_version" linux-x86_64)

  local work=$ROOT/bench/target/gpu-bundle
  rm -rf "$work" "$PARTS_DIR"
  mkdir -p "$work/jars" "$PARTS_DIR"
  # The application: the benchmarks jar without the CPU build's ONNX Runtime natives (the GPU build's
  # come in their own jar; two would leave JavaCPP to pick) and without the tiny model's graphs
  # (its tokenizer files stay: the synthetic model copies them).
  cp "$shaded" "$work/jars/app.jar"
  zip -q -d "$work/jars/app.jar" 'org/bytedeco/onnxruntime/linux-x86_64/*' \
    'META-INF/native-image/linux-x86_64/jnionnxruntime/*' 'io/sdxl4j/samples/tiny-model/*/model.onnx' >/dev/null
  cp "$ort_gpu" "$work/jars/onnxruntime-gpu.jar"
  cp "$cuda_natives" "$work/jars/cuda-natives.jar"
  {
    echo "sdxl4j commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
    echo "staged $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "org.bytedeco:onnxruntime:$ort_version:linux-x86_64-gpu"
    echo "org.bytedeco:cuda:$cuda_version:linux-x86_64"
    echo "runtime $("$jh/bin/java" -version 2>&1 | head -1)"
  } > "$work/jars/MANIFEST"
  (cd "$work/jars" && sha256sum app.jar onnxruntime-gpu.jar cuda-natives.jar > SHA256SUMS)
  tar cf "$work/jars.tar" -C "$work/jars" .

  say "jlink: a runtime with the modules the benchmarks jar uses"
  local modules
  modules=$("$jh/bin/jdeps" --multi-release 21 --print-module-deps --ignore-missing-deps "$shaded")
  "$jh/bin/jlink" --add-modules "$modules,java.logging" --strip-debug --no-man-pages --no-header-files \
    --compress zip-9 --output "$work/jre"
  tar czf "$work/jre.tgz" -C "$work" jre

  # Parts: the jars first, the runtime last (a machine with its own Java 21+ can skip those).
  local n=0 file
  : > "$PARTS_DIR/PARTS"
  for file in jars.tar jre.tgz; do
    split -b "$CHUNK_BYTES" -d -a 3 "$work/$file" "$work/$file.chunk-"
    local c
    for c in "$work/$file".chunk-*; do
      n=$((n + 1))
      local name; name=$(printf 'part-%02d' $n)
      mv "$c" "$PARTS_DIR/$name"
      echo "$name $file" >> "$PARTS_DIR/PARTS"
    done
  done
  (cd "$work" && sha256sum jars.tar jre.tgz) > "$PARTS_DIR/SHA256SUMS"
  (cd "$PARTS_DIR" && sha256sum part-*) >> "$PARTS_DIR/SHA256SUMS"
  ls -l "$PARTS_DIR" | sed 's/^/  /'
  say "$n parts in ${PARTS_DIR#$ROOT/} ($(du -sh "$work/jars.tar" | cut -f1) jars, $(du -sh "$work/jre.tgz" | cut -f1) runtime)"
  travel_report
  plan | tee "$PARTS_DIR/CALLS"
}

# The device calls: parts grouped so that each call, with the tree (conformance data parked), stays
# under 64 MiB.
plan() {
  local rel=${PARTS_DIR#$ROOT/}
  local tree; tree=$(tree_bytes conformance)
  local room=$((64 * 1024 * 1024 - tree - 2000000))
  echo "gpu-check: the device calls, in order (the tree without conformance/ is $((tree / 1000000)) MB; park it first):"
  local group=() bytes=0 p size
  for p in $(awk '{print substr($1, 6)}' "$PARTS_DIR/PARTS"); do
    size=$(stat -c %s "$PARTS_DIR/part-$p")
    if [ ${#group[@]} -gt 0 ] && { [ $((bytes + size)) -gt $room ] || [ ${#group[@]} -ge 6 ]; }; then
      plan_call "$rel" "${group[@]}"
      group=() bytes=0
    fi
    group+=("$p") bytes=$((bytes + size))
  done
  [ ${#group[@]} -eq 0 ] || plan_call "$rel" "${group[@]}"
  echo '  run(command="bench/gpu-check.sh run", timeout_s=600)   # again with the configurations it skipped, if any'
}

plan_call() { # folder parts...
  local rel=$1; shift
  local carry="" q
  for q in "$@"; do carry="$carry\"$rel/part-$q\", "; done
  printf '  run(command="bench/gpu-check.sh unpack %s", carry=[%s"%s/SHA256SUMS", "%s/PARTS"], timeout_s=120)\n' \
    "$*" "$carry" "$rel" "$rel"
}

tree_bytes() { # bytes of the tracked files present and the untracked files git does not ignore, without folder $1
  (cd "$ROOT" && { git ls-files -z; git ls-files -z --others --exclude-standard; } \
    | tr '\0' '\n' | grep -v "^${1:-//}/" | tr '\n' '\0' \
    | xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
}

# What travels with a call besides the carried part: tracked files present and untracked files git
# does not ignore.
travel_report() {
  local bytes; bytes=$(tree_bytes)
  local biggest; biggest=$(ls -l "$PARTS_DIR"/part-* 2>/dev/null | awk '{if ($5 > m) m = $5} END {print m + 0}')
  local limit=$((64 * 1024 * 1024))
  say "the tree that travels: $((bytes / 1000000)) MB; with the largest part: $(((bytes + biggest) / 1000000)) MB of $((limit / 1000000)) MB"
  if [ $((bytes + biggest + 65536)) -gt $limit ]; then
    say "too large for one call: 'bench/gpu-check.sh park' moves the conformance data out of the tree first"
  fi
}

PARKED=$ROOT/../.$(basename "$ROOT")-parked
park() {
  [ -d "$ROOT/conformance" ] || die "nothing to park: $ROOT/conformance is absent (parked already?)"
  [ ! -e "$PARKED/conformance" ] || die "$PARKED/conformance exists: unpark first"
  mkdir -p "$PARKED"
  mv "$ROOT/conformance" "$PARKED/conformance"
  say "conformance/ moved to $PARKED (tracked files absent do not travel); 'bench/gpu-check.sh unpark' brings it back"
  PARTS_DIR=$PARTS_DIR travel_report
}
unpark() {
  [ -d "$PARKED/conformance" ] || die "nothing parked in $PARKED"
  [ ! -e "$ROOT/conformance" ] || die "$ROOT/conformance exists"
  mv "$PARKED/conformance" "$ROOT/conformance"
  rmdir "$PARKED" 2>/dev/null || true
  say "conformance/ is back"
}

# --- the GPU machine -------------------------------------------------------------------------------

expected_sum() { awk -v f="$1" '$2 == f {print $1}' "$PARTS_DIR/SHA256SUMS"; }

unpack() {
  [ $# -gt 0 ] || die "unpack N [N...]"
  local n
  for n in "$@"; do unpack_one "$n"; done
}

unpack_one() {
  local n=$1
  local name; name=$(printf 'part-%02d' "$((10#$n))")
  [ -f "$PARTS_DIR/SHA256SUMS" ] && [ -f "$PARTS_DIR/PARTS" ] || die "carry $PARTS_DIR/SHA256SUMS and PARTS with each part"
  local file; file=$(awk -v p="$name" '$1 == p {print $2}' "$PARTS_DIR/PARTS")
  [ -n "$file" ] || die "$name is not in PARTS"
  mkdir -p "$STAGE/parts"
  # Parts of an earlier staging do not count for this one.
  local id; id=$(sha256sum "$PARTS_DIR/SHA256SUMS" | cut -d' ' -f1)
  if [ "$(cat "$STAGE/parts/STAGING" 2>/dev/null)" != "$id" ]; then
    rm -rf "$STAGE/parts" && mkdir -p "$STAGE/parts" && echo "$id" > "$STAGE/parts/STAGING"
  fi
  if [ $((10#$n)) = 1 ]; then machine_report; fi
  if [ -f "$STAGE/parts/$name.ok" ]; then
    say "$name was appended already"
  else
    [ -f "$PARTS_DIR/$name" ] || die "$PARTS_DIR/$name did not travel: carry it"
    [ "$(sha256sum "$PARTS_DIR/$name" | cut -d' ' -f1)" = "$(expected_sum "$name")" ] || die "$name: sha256 mismatch (transfer damaged it: send it again)"
    local previous; previous=$(awk -v p="$name" -v f="$file" '$2 == f && $1 < p {print $1}' "$PARTS_DIR/PARTS" | tail -1)
    if [ -n "$previous" ] && [ ! -f "$STAGE/parts/$previous.ok" ]; then
      die "$previous of $file is not appended yet: unpack the parts in order"
    fi
    if [ -z "$previous" ]; then rm -f "$STAGE/$file"; fi
    cat "$PARTS_DIR/$name" >> "$STAGE/$file"
    touch "$STAGE/parts/$name.ok"
    say "$name ($file) checked and appended"
  fi
  local missing; missing=$(awk -v f="$file" '$2 == f {print $1}' "$PARTS_DIR/PARTS" | while read -r p; do [ -f "$STAGE/parts/$p.ok" ] || echo "$p"; done)
  if [ -f "$STAGE/parts/$file.done" ]; then
    say "$file was unpacked already"
  elif [ -z "$missing" ]; then
    [ "$(sha256sum "$STAGE/$file" | cut -d' ' -f1)" = "$(expected_sum "$file")" ] || die "$file: sha256 mismatch after the last part"
    case $file in
      jars.tar)
        rm -rf "$STAGE/jars" && mkdir -p "$STAGE/jars"
        tar xf "$STAGE/jars.tar" -C "$STAGE/jars"
        (cd "$STAGE/jars" && sha256sum -c --quiet SHA256SUMS) || die "a jar does not match its sum"
        rm -f "$STAGE/jars.tar"
        say "jars complete and checked: $(tr '\n' ';' < "$STAGE/jars/MANIFEST")";;
      jre.tgz)
        rm -rf "$STAGE/jre"
        tar xzf "$STAGE/jre.tgz" -C "$STAGE"
        rm -f "$STAGE/jre.tgz"
        say "runtime complete: $("$STAGE/jre/bin/java" -version 2>&1 | head -1)";;
    esac
    touch "$STAGE/parts/$file.done"
  else
    say "$file still needs: $(echo $missing)"
  fi
  local left; left=$(awk '{print $1}' "$PARTS_DIR/PARTS" | while read -r p; do [ -f "$STAGE/parts/$p.ok" ] || echo "$p"; done)
  if [ -z "$left" ]; then say "all parts unpacked: next 'bench/gpu-check.sh run'"; else say "parts left: $(echo $left)"; fi
}

machine_report() {
  say "machine: $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(df -h / | awk 'NR == 2 {print $4 " free on /"}')"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu-check: gpu: /'
  else
    say "no nvidia-smi"
  fi
  say "java on the path: $(command -v java >/dev/null && java -version 2>&1 | head -1 || echo none)"
  say "CUDA libraries: $(cuda_library_path | tr ':' ' ' | wc -w) folders; $(check_libs)"
}

# Folders holding CUDA 13 libraries: the Python packages' (nvidia.cublas, nvidia.cudnn, ...) and the toolkit's.
cuda_library_path() {
  local dirs=""
  local py; py=$(command -v python3 || true)
  if [ -n "$py" ]; then
    local roots
    roots=$("$py" -c 'import nvidia, sys; print(" ".join(nvidia.__path__))' 2>/dev/null || true)
    if [ -n "$roots" ]; then
      # shellcheck disable=SC2086
      dirs=$(find $roots -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')
    fi
  fi
  local d
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu; do
    [ -d "$d" ] && dirs="$dirs$d:"
  done
  echo "${dirs%:}"
}

check_libs() { # prints found/missing for each library ONNX Runtime's CUDA provider needs
  local path; path=$(cuda_library_path)
  local lib missing=""
  for lib in $NEEDED_LIBS; do
    local found=""
    local d
    for d in ${path//:/ }; do [ -e "$d/$lib" ] && found=$d && break; done
    [ -n "$found" ] || missing="$missing $lib"
  done
  if [ -z "$missing" ]; then echo "all of $NEEDED_LIBS found"; else echo "missing:$missing"; fi
}

java_cmd() {
  if [ -x "$STAGE/jre/bin/java" ]; then echo "$STAGE/jre/bin/java"; return; fi
  if command -v java >/dev/null; then
    local v; v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
    if [ "${v:-0}" -ge 21 ]; then command -v java; return; fi
  fi
  die "no Java 21+: unpack the runtime's parts (the last ones)"
}

java_run() { # heap, then GpuCheck arguments
  local heap=$1; shift
  local cp="$STAGE/jars/app.jar:$STAGE/jars/onnxruntime-gpu.jar:$STAGE/jars/cuda-natives.jar"
  [ -f "$STAGE/jars/app.jar" ] || die "the jars are not unpacked in $STAGE"
  local opts=(--enable-native-access=ALL-UNNAMED "-Xmx$heap" "-Dorg.bytedeco.javacpp.cachedir=$STAGE/javacpp-cache")
  [ "${GPU_CHECK_DEBUG:-0}" = 1 ] && opts+=(-Dorg.bytedeco.javacpp.logger.debug=true)
  # shellcheck disable=SC2206
  [ -n "${GPU_CHECK_JAVA_OPTS:-}" ] && opts+=($GPU_CHECK_JAVA_OPTS)
  LD_LIBRARY_PATH="$(cuda_library_path)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "${RUN_PREFIX[@]}" "$(java_cmd)" "${opts[@]}" "${JAVA_EXTRA[@]}" -cp "$cp" io.sdxl4j.bench.GpuCheck "$@"
}

write_model() { # scale fp16-flag
  local t0=$SECONDS
  JAVA_EXTRA=()
  java_run 16g --write-model "$MODEL" --synthetic "$1" ${2:+--fp16}
  say "model ready in $((SECONDS - t0)) s: $(du -sh "$MODEL" | cut -f1) in $MODEL"
}

# One configuration in its own JVM, with nvidia-smi sampling the device's memory beside it.
run_config() { # label provider fused(true|false|"") engine size steps images heap
  local label=$1 provider=$2 fused=$3 engine=$4 size=$5 steps=$6 images=$7 heap=$8
  JAVA_EXTRA=()
  local args=(--model "$MODEL" --engine "$engine" --provider "$provider" --size "$size" --steps "$steps"
    --images "$images" --label "$label" --result "$STAGE/results.txt"
    --conv-search "${GPU_CHECK_CONV_SEARCH:-EXHAUSTIVE}")
  if [ -n "$fused" ]; then
    args+=(--fused "$fused")
    JAVA_EXTRA=("$FUSED_FLAG=$fused")
  fi
  local sampler="" samples="$STAGE/memory-$label.txt"
  if command -v nvidia-smi >/dev/null && [ "$provider" != cpu ]; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$samples" 2>/dev/null &
    sampler=$!
  fi
  say "$label: GpuCheck ${args[*]}${JAVA_EXTRA[*]:+ (JVM ${JAVA_EXTRA[*]})}"
  local t0=$SECONDS status=0
  RUN_PREFIX=(timeout "${GPU_CHECK_CONFIG_TIMEOUT:-300}")
  set +e
  java_run "$heap" "${args[@]}" 2>&1 | tee "$OUT_DIR/log-$label.txt"
  status=${PIPESTATUS[0]}
  set -e
  RUN_PREFIX=()
  if [ -n "$sampler" ]; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    local peak; peak=$(sort -n "$samples" | tail -1)
    say "$label: peak device memory (nvidia-smi, whole device) ${peak:-?} MiB"
    if [ -f "$STAGE/results.txt" ] && tail -1 "$STAGE/results.txt" | grep -q "label=$label "; then
      sed -i '$ s/$/ peak_mib='"${peak:-?}"'/' "$STAGE/results.txt"
    fi
  fi
  say "$label: exit $status after $((SECONDS - t0)) s"
  CONFIG_SECONDS=$((SECONDS - t0))
  return $status
}

run() {
  local budget=${GPU_CHECK_BUDGET:-540}
  local start=$SECONDS
  mkdir -p "$OUT_DIR"
  machine_report | tee "$OUT_DIR/machine.txt"
  command -v nvidia-smi >/dev/null || die "no nvidia-smi: this is no GPU machine (bench/gpu-check.sh dry-run is the CPU check)"
  [ -f "$MODEL/COMPLETE" ] || write_model full fp16
  local configs=("$@")
  [ ${#configs[@]} -gt 0 ] || configs=(cuda-graph cuda cuda-graph-fused cuda-fused)
  local fused_option; fused_option=$(JAVA_EXTRA=(); java_run 1g --capabilities | sed -n 's/^fusedAttention=//p')
  say "fused attention in this build's PipelineOptions: ${fused_option:-unknown}"
  local longest=120 c
  for c in "${configs[@]}"; do
    local provider fused=""
    case $c in
      cuda-graph) provider=cuda-graph fused=false;;
      cuda) provider=cuda fused=false;;
      cuda-graph-fused) provider=cuda-graph fused=true;;
      cuda-fused) provider=cuda fused=true;;
      *) die "unknown configuration $c (cuda-graph, cuda, cuda-graph-fused, cuda-fused)";;
    esac
    if [ "$fused" = true ] && [ "$fused_option" != yes ]; then
      say "$c: skipped, this build's PipelineOptions has no fused attention (its run would repeat the unfused one)"
      continue
    fi
    if [ $((SECONDS - start + longest)) -gt "$budget" ]; then
      say "$c: skipped, it would not fit the budget of $budget s (run 'bench/gpu-check.sh run $c' in another call)"
      continue
    fi
    run_config "$c" "$provider" "$fused" javacpp "${GPU_CHECK_SIZE:-1024}" "${GPU_CHECK_STEPS:-30}" \
      "${GPU_CHECK_IMAGES:-2}" 16g || say "$c failed: see $OUT_DIR/log-$c.txt"
    [ "$CONFIG_SECONDS" -gt "$longest" ] && longest=$CONFIG_SECONDS
  done
  summary | tee "$OUT_DIR/summary.txt"
  cp -f "$STAGE/results.txt" "$OUT_DIR/results.txt" 2>/dev/null || true
}

summary() {
  [ -f "$STAGE/results.txt" ] || { say "no results yet"; return; }
  echo "configuration        fused        load s  first s  image s  step ms  device MiB  peak MiB   vs A40 ~${A40_REFERENCE_S} s"
  local line
  while read -r line; do
    local label fused load first image step used peak provider
    label=$(field label "$line"); fused=$(field fused "$line"); load=$(field load_s "$line")
    provider=$(field provider "$line")
    first=$(field first_image_s "$line"); image=$(field image_s "$line"); step=$(field step_ms "$line")
    used=$(field device_used_mib "$line"); peak=$(field peak_mib "$line")
    printf '%-20s %-12s %7s %8s %8s %8s %11s %9s %9s\n' "$label" "$fused" "$load" "$first" "$image" "$step" \
      "${used:--}" "${peak:--}" "$(awk -v t="$image" -v r=$A40_REFERENCE_S -v p="$provider" 'BEGIN {if (t > 0 && p != "cpu") printf "%.2fx", r / t; else print "-"}')"
  done < "$STAGE/results.txt"
}

field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

status() {
  say "stage $STAGE: $(ls "$STAGE/parts" 2>/dev/null | grep '\.ok$' | sed 's/.ok$//' | tr '\n' ' ')"
  [ -f "$STAGE/jars/MANIFEST" ] && say "jars: $(tr '\n' ';' < "$STAGE/jars/MANIFEST")"
  [ -x "$STAGE/jre/bin/java" ] && say "runtime: $("$STAGE/jre/bin/java" -version 2>&1 | head -1)"
  [ -f "$MODEL/COMPLETE" ] && say "model: $MODEL ($(cat "$MODEL/COMPLETE"))"
  summary
}

# --- the dry run, here ----------------------------------------------------------------------------

dry_run() {
  MODEL=${GPU_CHECK_MODEL:-$STAGE/dry-run-model}
  mkdir -p "$OUT_DIR"
  rm -f "$STAGE/results.txt"
  say "dry run: the steps of 'run' on this machine's CPU, from the unpacked parts in $STAGE"
  machine_report
  write_model "${GPU_CHECK_DRY_SCALE:-0.05,0.1}" fp16
  local size=${GPU_CHECK_DRY_SIZE:-128} steps=${GPU_CHECK_DRY_STEPS:-3}
  # The device code path on the CPU (javacpp-resident), as run would time it on CUDA, fused off and on.
  run_config cpu-unfused cpu false javacpp-resident "$size" "$steps" 1 2g
  run_config cpu-fused cpu true javacpp-resident "$size" "$steps" 1 2g
  summary
  say "CUDA: the provider must stop for want of a GPU (and name what is missing)"
  JAVA_EXTRA=()
  local status=0
  java_run 2g --probe-cuda --model "$MODEL" 2>&1 | tee "$OUT_DIR/log-probe.txt" || status=$?
  case $status in
    0) say "dry run passed: everything up to the GPU ran; a GPU machine only has to unpack and run";;
    1) say "dry run: the CUDA provider loaded: this machine has a GPU, use 'run'";;
    *) die "dry run failed before reaching CUDA (exit $status)";;
  esac
}

case ${1:-} in
  stage) shift; stage "$@";;
  park) park;;
  unpark) unpark;;
  unpack) shift; unpack "$@";;
  run) shift; run "$@";;
  status) status;;
  dry-run) dry_run;;
  *) sed -n '3,30p' "$0" | sed 's/^# \{0,1\}//'; exit 2;;
esac
