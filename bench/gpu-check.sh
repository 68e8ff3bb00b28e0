#!/usr/bin/env bash
# The GPU machine's check, in one run of at most 8 minutes. From a checkout after `mvn -B -DskipTests install`,
# or with the distribution (`mvn -Pdist package`) carried along:
#     OUT=DIR bash bench/gpu-check.sh
# It uses dist/target/jresnet-*-linux-x86_64.tar.gz when that exists (unpacked under /tmp: its Java runtime, jars
# and test kit), else the checkout's target folders and the Java on PATH (GPU_CHECK_DIST=none forces the checkout,
# GPU_CHECK_DIST=FILE names a tarball). Steps, each with its own time limit and
# independent of the others (a failed step is reported and the next one still runs):
#   0. jresnet doctor: versions and where each CUDA library was loaded from; no usable GPU ends the check here
#   1. the JUnit tests tagged "gpu"
#   2. PyTorch writes a seeded resnet50 .pth and an input; jresnet computes logits from the same .pth in fp32, tf32
#      and fp16 and reports, per precision, the convolutions that fell back from the fused cuDNN call and the
#      forward algorithm of every layer; both sides' logits are compared (relative L2, top-1)
#   3. timing: jresnet fp32/tf32/fp16 with CUDA graphs (and fp16 eager) vs PyTorch eager fp32, tf32, fp16
#      channels_last and torch.compile fp16 channels_last, at batch 1, 32, 256
#   4. the GPU kernel lab: every cuDNN forward algorithm on ResNet-50's convolution shapes, fp16 and fp32, batch 32
#   5. fine-tuning speed: jresnet vs PyTorch, layer4 + fc trainable at batch 64, fp32 / tf32 / AMP
# Scratch lives under /tmp. $OUT (default /tmp/gpu-check-out) receives at most 8 plain files: summary.txt (every
# step's status and the final tables), logs.tar.gz (every log and report), and the few worth reading alone.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-/tmp/gpu-check-out}
budget=${GPU_CHECK_BUDGET_S:-450}   # seconds for all steps; the archive and summary come after
batches=${GPU_CHECK_BATCHES:-1,32,256}
seconds=${GPU_CHECK_SECONDS:-1.5}
py=${PYTHON:-python3}
mkdir -p "$out"
scratch=$(mktemp -d /tmp/gpu-check.XXXXXX)
start=$SECONDS
status=0
report=()   # one line per step: "N. name: ok|FAILED|SKIPPED (detail)"

step() { echo; echo "== $1 ($((SECONDS - start)) s)"; }
record() { report+=("$1"); echo "gpu-check: $1"; [[ $1 == *": FAILED"* ]] && status=1; return 0; }
# limit WANT: WANT seconds, or what is left of the budget if less (at least 5)
limit() { local left=$((budget - (SECONDS - start))) want=$1; ((left < want)) && want=$left; ((want < 5)) && want=5; echo "$want"; }
# run_step NAME SECONDS LOG COMMAND...: runs COMMAND with a time limit, output to LOG; records ok or FAILED
run_step() {
  local name=$1 secs=$2 log=$3; shift 3
  timeout "$(limit "$secs")" "$@" >"$log" 2>&1
  local rc=$?
  if ((rc == 0)); then record "$name: ok"; else
    record "$name: FAILED (exit $rc$( ((rc == 124)) && echo ", time limit"); $(basename "$log"))"
    grep -v '^WARNING' "$log" | tail -n 12
  fi
  return $rc
}

# The report never gets lost: whatever happens, $OUT gets the summary, the archive and the key files.
finish() {
  {
    echo "gpu-check: $( ((status == 0)) && echo ok || echo FAILED ) in $((SECONDS - start)) s on $(hostname)"
    echo "source: ${source_desc:-unknown}"
    printf '%s\n' "${report[@]}"
    for f in doctor.txt compare.txt fusion.txt table.txt lab-summary.txt junit-summary.txt; do
      [[ -s $scratch/$f ]] && { echo; echo "--- $f"; grep -v "^WARNING: Using incubator" "$scratch/$f"; }
    done
  } >"$scratch/summary.txt"
  cp "$scratch/summary.txt" "$out/summary.txt"
  # everything but the weights, the input and the kernel cache (large, and made again in a second)
  tar -C "$scratch" --exclude='*.pth' --exclude='input.npy' --exclude='kernel-cache' --exclude='dist' \
    -czf "$out/logs.tar.gz" . 2>/dev/null
  for f in timing.csv train.csv algorithms.txt junit-summary.txt lab-summary.txt; do
    [[ -s $scratch/$f ]] && cp "$scratch/$f" "$out/$f"
  done
  echo
  cat "$scratch/summary.txt"
  echo "gpu-check: files in $out: $(cd "$out" && ls | tr '\n' ' ')"
  rm -rf "$scratch"
}
trap finish EXIT

# ------------------------------------------------------------------ where Java and the jars come from
# GPU_CHECK_DIST: a distribution tarball, or "none" for the checkout; default: the one the build made, if any
dist=${GPU_CHECK_DIST:-$(ls "$root"/dist/target/jresnet-*-linux-x86_64.tar.gz 2>/dev/null | head -n 1)}
[[ $dist == none ]] && dist=
if [[ -n $dist ]]; then
  tar -C "$scratch" -xzf "$dist" && mv "$scratch"/jresnet-*/ "$scratch/dist"
  export JRESNET_HOME=$scratch/dist
  source_desc="distribution $(basename "$dist")"
else
  export JRESNET_HOME=$root
  source_desc="checkout $root"
fi
env_script=$JRESNET_HOME/bin/jresnet-env
[[ -f $env_script ]] || env_script=$root/dist/src/bin/jresnet-env
if [[ ! -f $env_script ]] || ! source "$env_script" || [[ ! -x ${JRESNET_JAVA:-} ]]; then
  record "setup: FAILED (no Java runtime or classpath from $env_script)"
  exit 1
fi
# heap, JavaCPP's native limit (0: none) and the kernel cache come from jresnet-env and here
java_opts=($JRESNET_JAVA_OPTS_DEFAULT -Djresnet.kernelCache="$scratch/kernel-cache" -Djresnet.requireGpu=true)
java_run=("$JRESNET_JAVA" "${java_opts[@]}" -cp "$JRESNET_CLASSPATH")
echo "gpu-check: $source_desc; java $JRESNET_JAVA; CUDA libraries missing: ${JRESNET_CUDA_MISSING:-none}"

step "0. jresnet doctor"
timeout 60 "${java_run[@]}" dev.jresnet.cli.Main doctor >"$scratch/doctor.txt" 2>&1
rc=$?
grep -v '^WARNING' "$scratch/doctor.txt"
if ((rc != 0)); then
  reason=$(grep -E '^usable: no' "$scratch/doctor.txt" | head -n 1)
  record "0. doctor: FAILED (${reason:-exit $rc}): no usable GPU, nothing else runs"
  exit 1
fi
record "0. doctor: ok"

step "1. GPU-tagged JUnit tests"
if [[ -z ${JRESNET_JUNIT:-} || ! -f ${JRESNET_JUNIT:-} ]]; then
  record "1. junit: FAILED (no JUnit console launcher: build with mvn package, or use the distribution)"
else
  run_step "1. junit" 200 "$scratch/junit.txt" "$JRESNET_JAVA" "${java_opts[@]}" -jar "$JRESNET_JUNIT" execute \
    --class-path "$JRESNET_TEST_CLASSPATH" --scan-classpath --include-tag gpu --disable-banner --details=tree \
    --reports-dir "$scratch/junit"
  grep -E "tests (successful|failed|aborted|skipped)|✘" "$scratch/junit.txt" | head -n 60 >"$scratch/junit-summary.txt"
  cat "$scratch/junit-summary.txt"
fi

step "2. logits: jresnet vs PyTorch on the GPU, same .pth and input"
ref=$scratch/ref
if run_step "2a. torch reference" 90 "$scratch/torch-make.txt" "$py" bench/peers/torch_peer.py make "$ref"; then
  tail -n 2 "$scratch/torch-make.txt"
  run_step "2b. jresnet logits" 100 "$scratch/jresnet-logits.txt" "${java_run[@]}" dev.jresnet.bench.GpuCheck logits \
    "$ref/resnet50_seeded.pth" "$ref/input.npy" "$ref"
  grep -E "^jresnet" "$scratch/jresnet-logits.txt" | tee "$scratch/fusion.txt"
  cat "$ref"/algorithms_*.txt >"$scratch/algorithms.txt" 2>/dev/null
  run_step "2c. compare" 30 "$scratch/compare.txt" "$py" bench/peers/torch_peer.py compare "$ref"
  cat "$scratch/compare.txt"
else
  record "2b. jresnet logits: SKIPPED (no reference)"
fi

step "3. timing"
csv=$scratch/timing.csv
if [[ -f $ref/resnet50_seeded.pth ]]; then
  run_step "3a. jresnet timing" 120 "$scratch/jresnet-bench.txt" "${java_run[@]}" dev.jresnet.bench.GpuCheck bench \
    "$ref/resnet50_seeded.pth" "$csv" "$batches" "$seconds"
  run_step "3b. torch eager timing" 90 "$scratch/torch-bench.txt" "$py" bench/peers/torch_peer.py bench "$ref" "$csv" \
    "$batches" "$seconds" eager
  left=$((budget - 110 - (SECONDS - start)))  # steps 4 and 5 keep their time
  if ((left > 60)); then
    timeout "$left" "$py" bench/peers/torch_peer.py bench "$ref" "$csv" "$batches" "$seconds" compile \
      >"$scratch/torch-compile.txt" 2>&1 && record "3c. torch.compile timing: ok" \
      || record "3c. torch.compile timing: incomplete (limit ${left} s; torch-compile.txt)"
  else
    record "3c. torch.compile timing: SKIPPED (no time left)"
  fi
else
  record "3. timing: SKIPPED (no weights from step 2)"
fi

step "4. GPU kernel lab: cuDNN forward algorithms per convolution shape, fp16 and fp32, batch 32"
lab=$scratch/gpu-lab
run_step "4. kernel lab" 60 "$scratch/gpu-lab.log" "${java_run[@]}" dev.jresnet.cli.Main bench --layers --device cuda \
  --precision fp16,fp32 --batch 32 --runs 15 --seconds 0.03 --warmup 0.005 --json --report "$lab"
if [[ -f $lab/summary.md ]]; then
  # per precision: valid algorithms, the engine's pick vs the fastest valid one per shape, totals over a pass
  awk '/^## Summary/{f=1; next} /^## /{f=0} f && !/^```/ && NF' "$lab/summary.md" >"$scratch/lab-summary.txt"
  cat "$scratch/lab-summary.txt"
fi

step "5. fine-tuning speed (batch 64, layer4 + fc trainable; head-only from cached features)"
tcsv=$scratch/train.csv
if [[ -f $ref/resnet50_seeded.pth ]]; then
  run_step "5a. jresnet fine-tuning" 35 "$scratch/jresnet-train.txt" "${java_run[@]}" dev.jresnet.bench.GpuTrainCheck \
    "$ref/resnet50_seeded.pth" "$tcsv" 64 1.5
  grep -v '^WARNING' "$scratch/jresnet-train.txt" | grep -E "cuda|loss|epochs" | head -n 6
  run_step "5b. torch fine-tuning" 25 "$scratch/torch-train.txt" "$py" bench/peers/torch_peer.py train "$ref" "$tcsv" 64 1.5
else
  record "5. fine-tuning: SKIPPED (no weights from step 2)"
fi

step "6. tables"
{
  [[ -f $csv ]] && { echo "inference (images/s):"; "$py" bench/peers/torch_peer.py table "$csv"; }
  [[ -f $tcsv ]] && { echo "fine-tuning (images/s; head rows: batch = cached images, ms = one epoch):";
    "$py" bench/peers/torch_peer.py table "$tcsv"; }
} >"$scratch/table.txt" 2>&1
exit $status
