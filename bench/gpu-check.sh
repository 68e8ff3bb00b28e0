#!/usr/bin/env bash
# The GPU machine's check, in one run (under 8 minutes): run as
#     bash .gpu/run bash bench/gpu-check.sh
# (.gpu/run sets JAVA_HOME, LD_LIBRARY_PATH and GPU_CLASSPATH; see ../shared/gpu/README.md). Everything it
# writes goes under $OUT (default /tmp/gpu-check):
#   1. the JUnit tests tagged "gpu" (JUnit XML in $OUT/junit, tree in $OUT/junit.txt)
#   2. PyTorch writes a seeded resnet50 .pth and an input; jresnet loads the same .pth and computes logits in
#      fp32, tf32 and fp16; both are compared (relative L2, top-1)
#   3. timing: jresnet fp32/tf32/fp16 with CUDA graphs (and fp16 eager) vs PyTorch eager fp32, tf32,
#      fp16 channels_last, torch.compile fp16 channels_last, at batch 1, 32, 256
#   3b. the GPU kernel lab: every cuDNN forward algorithm on ResNet-50's 23 convolution shapes, fp16 and fp32,
#      batch 32, checked against the CPU and timed (at most 60 s; JSON and Markdown in $OUT/gpu-lab)
#   4. fine-tuning speed (own 60 s): jresnet (dev.jresnet.bench.GpuTrainCheck) vs PyTorch (torch_peer.py
#      train), layer4 + fc trainable at batch 64, fp32 / tf32 / AMP, and head-only epochs from cached features
#   5. a compact table last, with the two targets.
# Each step has its own time limit; a failed step is reported and the next one still runs.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
: "${GPU_CLASSPATH:?run through .gpu/run, which sets GPU_CLASSPATH}"
py=${PYTHON:-python3}
batches=${GPU_CHECK_BATCHES:-1,32,256}
seconds=${GPU_CHECK_SECONDS:-1.5}
lab_s=60   # kept back for step 3b: torch.compile (step 3) stops that much earlier
train_s=60 # kept back for step 4 (fine-tuning speed), likewise
java_opts=(-Djresnet.kernelCache="$out/kernel-cache" -Djresnet.requireGpu=true --add-modules jdk.incubator.vector)
status=0
start=$SECONDS
step() { echo; echo "== $1 ($((SECONDS - start)) s)"; }
# limit WANT: WANT seconds, or what is left of the 450-second budget if less (at least 5)
limit() { local left=$((450 - (SECONDS - start))); local want=$1; ((left < want)) && want=$left; ((want < 5)) && want=5; echo "$want"; }

step "1. GPU-tagged JUnit tests"
launcher=$(ls "$root"/.gpu/tools/junit-platform-console-standalone-*.jar 2>/dev/null | head -n 1)
if [[ -z $launcher ]]; then
  echo "gpu-check: no JUnit console launcher in .gpu/tools (make the kit with ../shared/gpu/pack)"; status=1
else
  timeout "$(limit 200)" java "${java_opts[@]}" -jar "$launcher" execute --class-path "$GPU_CLASSPATH" --scan-classpath \
    --include-tag gpu --disable-banner --details=tree --reports-dir "$out/junit" >"$out/junit.txt" 2>&1
  rc=$?
  grep -E "tests (successful|failed|aborted|skipped)|✘" "$out/junit.txt" | head -n 40
  ((rc == 0)) || { echo "gpu-check: JUnit exit status $rc (see $out/junit.txt)"; status=1; }
fi

step "2. logits: jresnet vs PyTorch on the GPU, same .pth and input"
if timeout "$(limit 90)" "$py" bench/peers/torch_peer.py make "$out/ref" >"$out/torch-make.txt" 2>&1; then
  cat "$out/torch-make.txt" | tail -n 2
  timeout "$(limit 100)" java "${java_opts[@]}" -cp "$GPU_CLASSPATH" dev.jresnet.bench.GpuCheck logits \
    "$out/ref/resnet50_seeded.pth" "$out/ref/input.npy" "$out/ref" >"$out/jresnet-logits.txt" 2>&1 \
    || { echo "gpu-check: jresnet logits failed:"; tail -n 20 "$out/jresnet-logits.txt"; status=1; }
  cat "$out/jresnet-logits.txt" | grep -v "^WARNING" | tail -n 5
  timeout "$(limit 30)" "$py" bench/peers/torch_peer.py compare "$out/ref" | tee "$out/compare.txt" || status=1
else
  echo "gpu-check: PyTorch reference failed:"; tail -n 20 "$out/torch-make.txt"; status=1
fi

step "3. timing"
csv=$out/timing.csv
rm -f "$csv"
timeout "$(limit 120)" java "${java_opts[@]}" -cp "$GPU_CLASSPATH" dev.jresnet.bench.GpuCheck bench \
  "$out/ref/resnet50_seeded.pth" "$csv" "$batches" "$seconds" >"$out/jresnet-bench.txt" 2>&1 \
  || { echo "gpu-check: jresnet timing failed:"; tail -n 20 "$out/jresnet-bench.txt"; status=1; }
timeout "$(limit 90)" "$py" bench/peers/torch_peer.py bench "$out/ref" "$csv" "$batches" "$seconds" eager >"$out/torch-bench.txt" 2>&1 \
  || { echo "gpu-check: PyTorch eager timing failed:"; tail -n 10 "$out/torch-bench.txt"; status=1; }
left=$((440 - lab_s - train_s - (SECONDS - start)))  # steps 3b and 4 keep their time
if ((left > 60)); then
  timeout "$left" "$py" bench/peers/torch_peer.py bench "$out/ref" "$csv" "$batches" "$seconds" compile \
    >"$out/torch-compile.txt" 2>&1 || echo "gpu-check: torch.compile timing incomplete (limit ${left}s): see $out/torch-compile.txt"
else
  echo "gpu-check: no time left for torch.compile"
fi

step "3b. GPU kernel lab: cuDNN forward algorithms per convolution shape, fp16 and fp32, batch 32"
lab=$out/gpu-lab
rm -rf "$lab"
timeout "$(limit "$lab_s")" java "${java_opts[@]}" -cp "$GPU_CLASSPATH" dev.jresnet.cli.Main bench --layers --device cuda \
  --precision fp16,fp32 --batch 32 --runs 15 --seconds 0.03 --warmup 0.005 --json --report "$lab" \
  >"$out/gpu-lab.json" 2>"$out/gpu-lab.log"
rc=$?
if ((rc == 0)) && [[ -f $lab/summary.md ]]; then
  # The summary block of the report: per precision, valid algorithms, the engine's pick vs the fastest valid one
  # per shape, and the totals over a forward pass.
  awk '/^## Summary/{f=1; next} /^## /{f=0} f && !/^```/ && NF' "$lab/summary.md"
  echo "(table: $lab/summary.md, JSON: $out/gpu-lab.json, log: $out/gpu-lab.log)"
else
  echo "gpu-check: GPU kernel lab failed (exit status $rc$( ((rc == 124)) && echo ", time limit" )):"
  grep -v "^WARNING" "$out/gpu-lab.log" | tail -n 15
  status=1
fi

step "4. fine-tuning speed (batch 64, layer4 + fc trainable; head-only from cached features)"
tcsv=$out/train.csv
rm -f "$tcsv"
timeout "$(limit 35)" java "${java_opts[@]}" -cp "$GPU_CLASSPATH" dev.jresnet.bench.GpuTrainCheck \
  "$out/ref/resnet50_seeded.pth" "$tcsv" 64 1.5 >"$out/jresnet-train.txt" 2>&1 \
  || { echo "gpu-check: jresnet training timing failed:"; tail -n 20 "$out/jresnet-train.txt"; status=1; }
grep -v "^WARNING" "$out/jresnet-train.txt" | grep -E "cuda|loss|epochs" | head -n 6
timeout "$(limit 25)" "$py" bench/peers/torch_peer.py train "$out/ref" "$tcsv" 64 1.5 >"$out/torch-train.txt" 2>&1 \
  || { echo "gpu-check: PyTorch training timing failed or incomplete:"; tail -n 5 "$out/torch-train.txt"; }

step "5. summary"
[[ -f $out/compare.txt ]] && cat "$out/compare.txt"
[[ -f $csv ]] && "$py" bench/peers/torch_peer.py table "$csv" | tee "$out/table.txt"
[[ -f $tcsv ]] && { echo "fine-tuning (images/s; head rows: batch = cached images, ms = one epoch):";
  "$py" bench/peers/torch_peer.py table "$tcsv" | tee -a "$out/table.txt"; }
echo "gpu-check: $( ((status == 0)) && echo ok || echo FAILED ) in $((SECONDS - start)) s; files in $out"
exit $status
