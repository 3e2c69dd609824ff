#!/usr/bin/env bash
# EM Lab on a lent GPU (H100/H200, no network): find a CUDA EP that loads, train the Llama-3.2-1B shape with
# LoRA r16 on all 7 projections (seq 256, batch 8), run the same with PyTorch + PEFT + HF Trainer, compare 20
# steps' losses from the same initial adapter and tokens, measure decode, and print ONE table. See docs/cuda.md.
#
#   bash bench/gpu.sh prepare [--ort-node 1.29.0] [--cuda-from FILE.nupkg|DIR|npm:PKG@VER]   # here, with node_modules
#     (the route that can work on the lent machine today: --ort-node 1.29.0 --cuda-from
#      npm:com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9, see docs/cuda.md)
#   bash bench/gpu.sh run                                      # there: device tool, carry [".gpu-carry"]
#   GPU_SH_DRY_RUN=1 bash bench/gpu.sh run                     # here: CPU dry run on tiny shapes
#
# Every phase has a timeout; a failed phase writes its reason and the table still prints.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARRY=${GPU_CARRY_DIR:-$ROOT/.gpu-carry}
PARTS=${GPU_CUDA_PARTS_DIR:-$ROOT/.gpu-cuda}
DRY=${GPU_SH_DRY_RUN:-0}
log() { echo "[gpu.sh $(date -u +%H:%M:%S)] $*" >&2; }

prepare() {
  local ort_node="" cuda_from=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --ort-node) ort_node=$2; shift 2 ;;
      --cuda-from) cuda_from=$2; shift 2 ;;
      *) echo "prepare: unknown option $1" >&2; return 2 ;;
    esac
  done
  local stage; stage=$(mktemp -d)
  mkdir -p "$stage/node_modules" "$stage/bin" "$CARRY"
  # The image has no Node.js: carry this machine's node (x86-64, ~99 MB, ~30 MB as xz).
  cp "$(command -v node)" "$stage/bin/node" || return 1
  # onnxruntime-node, linux/x64 only (the other platforms are 240 MB we don't need); --ort-node takes another
  # version from the npm registry (e.g. 1.29.0 to match the asus4 CUDA 13 provider).
  local ortsrc="$ROOT/node_modules/onnxruntime-node" commonsrc="$ROOT/node_modules/onnxruntime-common"
  if [ -n "$ort_node" ]; then
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "onnxruntime-node@$ort_node" "onnxruntime-common@$ort_node" >/dev/null && mkdir a b && tar xzf onnxruntime-node-*.tgz -C a && tar xzf onnxruntime-common-*.tgz -C b) || return 1
    ortsrc="$tmp/a/package"; commonsrc="$tmp/b/package"
  fi
  mkdir -p "$stage/node_modules/onnxruntime-node/bin/napi-v6/linux"
  cp -r "$ortsrc/package.json" "$ortsrc/dist" "$stage/node_modules/onnxruntime-node/" || return 1
  [ -d "$ortsrc/lib" ] && cp -r "$ortsrc/lib" "$stage/node_modules/onnxruntime-node/"
  cp -r "$ortsrc/bin/napi-v6/linux/x64" "$stage/node_modules/onnxruntime-node/bin/napi-v6/linux/" || return 1
  cp -r "$commonsrc" "$stage/node_modules/onnxruntime-common" || return 1
  # EM Lab's phases, bundled with every JS dependency except the native onnxruntime-node.
  (cd "$ROOT" && npx esbuild bench/gpu/emlabGpu.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --external:onnxruntime-node --outfile="$stage/emlab-gpu.mjs" \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);") || return 1
  tar -C "$stage" -cf - . | xz -6 -T2 > "$CARRY/emlab-gpu.tar.xz" || return 1
  rm -rf "$stage"
  local size; size=$(stat -c %s "$CARRY/emlab-gpu.tar.xz")
  log "wrote .gpu-carry/emlab-gpu.tar.xz ($((size / 1048576)) MiB; the device carries at most 64 MiB a call)"
  if [ -n "$cuda_from" ]; then
    # CUDA provider libraries (230+ MB) exceed one call's 64 MiB: split a gzip stream (xz saves little on CUDA
    # kernels and is 10x slower) into 57 MiB parts (the rest of the tree must fit too), one call each (files carried earlier stay on the warm
    # machine). The run phase reassembles .gpu-cuda/part-*.
    rm -rf "$PARTS"; mkdir -p "$PARTS"
    local dir="$cuda_from"
    if [ "${cuda_from#npm:}" != "$cuda_from" ]; then # e.g. npm:com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
      dir=$(mktemp -d); (cd "$dir" && npm pack --silent "${cuda_from#npm:}" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz) || return 1
    elif [ -f "$cuda_from" ]; then dir=$(mktemp -d); (cd "$dir" && unzip -q "$cuda_from" 'runtimes/linux-x64/native/*' '*.nuspec') || return 1; fi
    local libdir; libdir=$(dirname "$(find "$dir" -name libonnxruntime_providers_cuda.so | head -1)")
    tar -C "$libdir" -czf - libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so | split -b 57M -d - "$PARTS/part-"
    log "wrote $(ls "$PARTS" | wc -l) part(s) in $PARTS: carry each in its own call (.gpu-cuda/part-00, ...), then run with .gpu-carry"
  fi
}

# ------------------------------------------------------------------------------------------- the competitor
# The only Python in the project: it measures PyTorch + PEFT + HF Trainer, never ships. It reads what EM Lab's
# train phase exported: config.json, the fp16 base weights inside train.onnx_data (weights-index.json), the
# initial adapter (adapter_init.safetensors, PEFT keys) and the token batches (tokens.bin, int32).
write_peft_bench() {
  cat > "$1" <<'PYEOF'
import argparse, json, os, statistics, time
import numpy as np, torch
from safetensors.numpy import load_file
import transformers, peft
from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainerCallback, TrainingArguments
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

ap = argparse.ArgumentParser()
ap.add_argument("--work", required=True); ap.add_argument("--device", default="cuda")
ap.add_argument("--new", type=int, default=128); ap.add_argument("--out", required=True)
a = ap.parse_args()
w = a.work
cfgj = json.load(open(os.path.join(w, "config.json")))
bench = json.load(open(os.path.join(w, "bench-config.json")))
index = json.load(open(os.path.join(w, "weights-index.json")))
cuda = a.device == "cuda"
prec = bench["precision"]
dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(prec, torch.float32) if cuda else torch.float32
dev = torch.device("cuda" if cuda else "cpu")
B, S, STEPS, WARM = bench["batch"], bench["seq"], bench["steps"], bench["warmup"]
result = {"phase": "peft", "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
          "precision": str(dtype).replace("torch.", ""), "device": a.device}

t0 = time.perf_counter()
config = LlamaConfig(**{k: v for k, v in cfgj.items() if k not in ("architectures", "torch_dtype", "model_type")})
with torch.device(dev):
    model = LlamaForCausalLM(config)
model.to(dtype)
# The very same base weights EM Lab trained on: the half-precision bytes inside train.onnx_data.
files = {loc: np.memmap(os.path.join(w, loc), dtype=np.uint8, mode="r") for loc in {e["location"] for e in index.values()}}
state = {}
for name, e in index.items():
    tdt = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}[e["dtype"]]
    buf = bytearray(files[e["location"]][e["offset"]:e["offset"] + e["length"]])  # a copy: torch wants writable memory
    t = torch.frombuffer(buf, dtype=tdt).reshape(e["shape"])
    state[name] = t.to(device=dev, dtype=dtype)
missing, unexpected = model.load_state_dict(state, strict=False)
missing = [k for k in missing if k != "lm_head.weight"]
assert not missing and not unexpected, f"weights: missing {missing[:5]}, unexpected {unexpected[:5]}"
model.tie_weights()
lcfg = LoraConfig(r=bench["rank"], lora_alpha=bench["alpha"], lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
model = get_peft_model(model, lcfg)  # adapters in float32 (autocast_adapter_dtype), like EM Lab's
init = {k: torch.from_numpy(v) for k, v in load_file(os.path.join(w, "adapter_init.safetensors")).items()}
res = set_peft_model_state_dict(model, init)
assert not getattr(res, "unexpected_keys", []), f"adapter keys not in the PEFT model: {res.unexpected_keys[:5]}"
result["loadSeconds"] = time.perf_counter() - t0

tokens = np.fromfile(os.path.join(w, "tokens.bin"), dtype=np.int32).reshape(-1, B, S)
rows = [torch.from_numpy(tokens[s, r].astype(np.int64)) for s in range(STEPS) for r in range(B)]

class Rows(torch.utils.data.Dataset):
    def __len__(self): return len(rows)
    def __getitem__(self, i): return {"input_ids": rows[i], "labels": rows[i], "attention_mask": torch.ones(S, dtype=torch.int64)}

class InOrder(Trainer):  # step s sees exactly EM Lab's batch s
    def _get_train_sampler(self, *args, **kwargs): return torch.utils.data.SequentialSampler(self.train_dataset)

times, losses, norms = [], [], []
class Clock(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw):
        if cuda: torch.cuda.synchronize()
        self.t = time.perf_counter()
    def on_step_end(self, args, state, control, **kw):
        if cuda: torch.cuda.synchronize()
        times.append(time.perf_counter() - self.t)
    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "loss" in logs: losses.append(float(logs["loss"])); norms.append(float(logs.get("grad_norm", float("nan"))))

targs = TrainingArguments(output_dir=os.path.join(w, "hf"), per_device_train_batch_size=B, max_steps=STEPS, learning_rate=bench["lr"],
    lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, max_grad_norm=bench["maxGradNorm"], adam_beta1=0.9, adam_beta2=0.999,
    adam_epsilon=1e-8, optim="adamw_torch", logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True, seed=0,
    fp16=cuda and dtype == torch.float16, bf16=cuda and dtype == torch.bfloat16, use_cpu=not cuda, dataloader_num_workers=0,
    remove_unused_columns=False)
if cuda: torch.cuda.reset_peak_memory_stats()
InOrder(model=model, args=targs, train_dataset=Rows(), callbacks=[Clock()]).train()
timed = times[WARM:] or times
result.update(stepSeconds=times, losses=losses, gradNorms=norms, tokensPerSecond=B * S / statistics.median(timed))
L, H, V, r = config.num_hidden_layers, config.hidden_size, config.vocab_size, bench["rank"]
I, KV = config.intermediate_size, config.num_key_value_heads * (H // config.num_attention_heads)
mods = [(H, H), (KV, H), (KV, H), (H, H), (I, H), (I, H), (H, I)]
result["flopsPerToken"] = 4 * (V * H + L * sum(o * i for o, i in mods)) + 6 * L * sum(r * (o + i) for o, i in mods) + 12 * S * H * L
if cuda: result["maxAllocatedMiB"] = torch.cuda.max_memory_allocated() / 2**20

model.eval()
prompt = torch.tensor([[(1000 + i) % V for i in range(16)]], device=dev)
gen = dict(do_sample=False, use_cache=True, pad_token_id=0, attention_mask=torch.ones_like(prompt))
with torch.no_grad():
    model.generate(input_ids=prompt, max_new_tokens=4, min_new_tokens=4, **gen)
    if cuda: torch.cuda.synchronize()
    t = time.perf_counter()
    model.generate(input_ids=prompt, max_new_tokens=a.new, min_new_tokens=a.new, **gen)
    if cuda: torch.cuda.synchronize()
result["decodeTokensPerSecond"] = a.new / (time.perf_counter() - t)
text = json.dumps(result, indent=1)
open(a.out, "w").write(text)
print(text)
PYEOF
}

# ---------------------------------------------------------------------------------------------------- run
phase() { # phase NAME TIMEOUT_S command...: stdout -> $R/NAME.json, stderr -> $W/NAME.log; failure -> $R/NAME.err
  local name=$1 t=$2; shift 2
  # The device tool stops a call at 600 s: never start what can't finish before the deadline (20 s kept for the table).
  local left=$(( DEADLINE - $(date +%s) - 20 ))
  if [ "$left" -lt 10 ]; then echo "skipped: out of the ${GPU_SH_BUDGET:-570} s budget" > "$R/$name.err"; log "phase $name skipped (no time left)"; return 1; fi
  [ "$left" -lt "$t" ] && t=$left
  log "phase $name (timeout ${t}s)"
  timeout --kill-after=15 "$t" "$@" > "$W/$name.out" 2> >(tee "$W/$name.log" >&2)
  local rc=$?
  sleep 0.2
  if [ $rc -eq 0 ] && [ -s "$W/$name.out" ]; then
    [ -s "$R/$name.json" ] || cp "$W/$name.out" "$R/$name.json"
    return 0
  fi
  local why; why=$(grep -iE "failed:|error|Traceback|not found|refus|cannot|unable" "$W/$name.log" 2>/dev/null | grep -v "^ " | tail -1)
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && why="timed out after ${t}s${why:+; last error: $why}"
  echo "${why:-exit $rc (see $name.log)} (exit $rc)" > "$R/$name.err"
  log "phase $name FAILED: $(cat "$R/$name.err")"
  return 1
}

mem_start() { # background nvidia-smi sampling (250 ms) for the phase named $1
  MEM_PID=""
  command -v nvidia-smi >/dev/null || return 0
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > "$W/mem-$1.log" 2>/dev/null &
  MEM_PID=$!
}
mem_stop() {
  [ -n "${MEM_PID:-}" ] || return 0
  kill "$MEM_PID" 2>/dev/null; wait "$MEM_PID" 2>/dev/null
  local peak; peak=$(sort -n "$W/mem-$1.log" 2>/dev/null | tail -1 | tr -dc '0-9')
  echo "{\"peakMiB\": ${peak:-null}}" > "$R/mem-$1.json"
}

run() {
  W=${GPU_WORK:-/tmp/emlab-gpu}; R="$W/results"
  DEADLINE=$(( $(date +%s) + ${GPU_SH_BUDGET:-570} ))
  rm -rf "$W"; mkdir -p "$R"
  local node emlab
  if [ "$DRY" = 1 ]; then
    node=$(command -v node); emlab=(npx --no-install tsx "$ROOT/bench/gpu/emlabGpu.ts")
    SHAPE=tiny DEVICE=cpu PREC=${PREC:-float16} SEQ=32 BATCH=2 STEPS=${STEPS:-4} WARMUP=1 NEW=8
    PY=${GPU_SH_PYTHON:-python3}
  else
    [ -f "$CARRY/emlab-gpu.tar.xz" ] || { log "no .gpu-carry/emlab-gpu.tar.xz: run 'bash bench/gpu.sh prepare' here first and carry .gpu-carry"; }
    mkdir -p "$W/emlab"
    python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$CARRY/emlab-gpu.tar.xz" "$W/emlab" || log "unpacking the carried bundle failed"
    node="$W/emlab/bin/node"; emlab=("$node" "$W/emlab/emlab-gpu.mjs")
    SHAPE=llama1b DEVICE=cuda PREC=${PREC:-float16} SEQ=256 BATCH=8 STEPS=${STEPS:-20} WARMUP=${WARMUP:-3} NEW=${NEW:-128}
    PY=python3
  fi
  export MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296

  # -- 0. environment
  local gpu="no NVIDIA GPU (nvidia-smi not found)"; [ "$DRY" = 1 ] && gpu="cpu (dry run)"
  if command -v nvidia-smi >/dev/null; then gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1); fi
  local pyort; pyort=$(timeout 60 "$PY" -c 'import onnxruntime as o,os;print(os.path.dirname(o.__file__), o.__version__, ",".join(o.get_available_providers()))' 2>/dev/null)
  printf '{"gpu": "%s", "pythonOnnxruntime": "%s", "dryRun": %s}\n' "$gpu" "$pyort" "$([ "$DRY" = 1 ] && echo true || echo false)" > "$R/env.json"
  log "GPU: $gpu; python onnxruntime: ${pyort:-none}"

  # -- 1. a CUDA EP that loads: candidates in order, each installed with EM Lab's own setup, then probed
  if [ "$DRY" != 1 ]; then
    local nv_dirs; nv_dirs=$(timeout 60 "$PY" - <<'EOF' 2>/dev/null
import glob, os, site
dirs = []
for sp in site.getsitepackages() + [site.getusersitepackages()]:
    dirs += sorted(glob.glob(os.path.join(sp, "nvidia", "*", "lib"))) + sorted(glob.glob(os.path.join(sp, "torch", "lib")))
print(":".join(d for d in dirs if os.path.isdir(d)))
EOF
)
    export LD_LIBRARY_PATH="${nv_dirs}${nv_dirs:+:}${LD_LIBRARY_PATH:-}"
    local candidates=()
    if [ -n "$(ls "$PARTS"/part-* 2>/dev/null)" ]; then
      mkdir -p "$W/cuda-carried"
      cat "$PARTS"/part-* | tar -C "$W/cuda-carried" -xzf - && candidates+=("$W/cuda-carried")
    fi
    [ -n "$pyort" ] && candidates+=("$(echo "$pyort" | cut -d' ' -f1)")
    [ -n "${ASUS4_DIR:-}" ] && candidates+=("$ASUS4_DIR")
    while IFS= read -r f; do candidates+=("$(dirname "$f")"); done < <(timeout 30 find / -xdev -name libonnxruntime_providers_cuda.so -not -path "$W/*" -not -path "$ROOT/*" 2>/dev/null | head -3)
    local ok=0 c tried=0
    for c in "${candidates[@]}"; do
      [ $tried -ge 3 ] && break
      [ -f "$c/libonnxruntime_providers_cuda.so" ] || [ -d "$c/capi" ] || continue
      log "CUDA EP candidate: $c"; tried=$((tried + 1))
      rm -f "$R/cuda-setup.json" "$R/cuda-setup.err"
      phase cuda-setup 60 "${emlab[@]}" cuda --from "$c" --out "$R/cuda-setup.json" ||
        { grep -q "version" "$R/cuda-setup.err" 2>/dev/null && phase cuda-setup 60 "${emlab[@]}" cuda --from "$c" --skip-version-check --out "$R/cuda-setup.json"; } || continue
      local extra; extra=$("$node" -e 'const r=require(process.argv[1]);process.stdout.write((r.suggestedLibraryPath||[]).join(":"))' "$R/cuda-setup.json" 2>/dev/null)
      [ -n "$extra" ] && export LD_LIBRARY_PATH="$extra:$LD_LIBRARY_PATH"
      rm -f "$R/probe.json" "$R/probe.err"
      if phase probe 60 "${emlab[@]}" probe --out "$R/probe.json"; then ok=1; break; fi
    done
    [ $ok = 1 ] || { log "no CUDA EP loaded (candidates: ${candidates[*]:-none}); EM Lab phases fall back to CPU and are skipped"; [ -s "$R/probe.json" ] || echo "no candidate CUDA provider found: the image's python onnxruntime ${pyort:-absent} has no capi/libonnxruntime_providers_cuda.so; carry one (bash bench/gpu.sh prepare --cuda-from ...)" > "$R/probe.err"; }
  fi

  # -- 2. EM Lab: build + save the train step and export what PEFT reads (no GPU needed), then train on the GPU
  #    (skipped without a CUDA EP: a 1B CPU run would eat the time budget)
  phase export "${T_EXPORT:-150}" "${emlab[@]}" export --shape "$SHAPE" --precision "$PREC" --rank 16 --seq "$SEQ" --batch "$BATCH" --steps "$STEPS" --warmup "$WARMUP" --lr "${LR:-1e-3}" --work "$W/model"
  if [ "$DRY" = 1 ] || { [ -s "$R/probe.json" ] && grep -q '"available": true' "$R/probe.json"; }; then
    mem_start emlab-train
    phase emlab-train "${T_TRAIN:-270}" "${emlab[@]}" train --shape "$SHAPE" --device "$DEVICE" --precision "$PREC" --rank 16 --seq "$SEQ" --batch "$BATCH" --steps "$STEPS" --warmup "$WARMUP" --lr "${LR:-1e-3}" --work "$W/model" --out "$R/emlab-train.json"
    mem_stop emlab-train
    # ORT warns when some nodes could not run on CUDA (they then run on the CPU with copies: slow).
    if grep -q "not assigned to the preferred execution providers" "$W/emlab-train.log" 2>/dev/null; then
      echo '{"cpuNodes": true}' > "$R/ep-assignment.json"; else echo '{"cpuNodes": false}' > "$R/ep-assignment.json"; fi
  else
    echo "skipped: no CUDA EP loaded (see the CUDA EP row)" > "$R/emlab-train.err"
  fi

  # -- 3. PyTorch + PEFT + HF Trainer, same shape, weights, adapter and tokens (it reads EM Lab's export)
  write_peft_bench "$W/peft_bench.py"
  mem_start peft
  phase peft "${T_PEFT:-180}" "$PY" "$W/peft_bench.py" --work "$W/model" --device "$([ "$DRY" = 1 ] && echo cpu || echo cuda)" --new "$NEW" --out "$R/peft.json"
  mem_stop peft

  # -- 4. EM Lab decode
  if [ "$DRY" = 1 ] || grep -q '"available": true' "$R/probe.json" 2>/dev/null; then
    phase emlab-decode "${T_DECODE:-100}" "${emlab[@]}" decode --shape "$SHAPE" --device "$DEVICE" --rank 16 --seq "$SEQ" --new "$NEW" --work "$W/model" --out "$R/emlab-decode.json"
  fi

  # -- 5. the table (and everything in $OUT when the device tool runs this)
  "${emlab[@]}" table --results "$R" | tee "$W/table.txt" || { log "table failed; raw results:"; cat "$R"/*.json "$R"/*.err 2>/dev/null; }
  if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
    cp "$W/table.txt" "$OUT/" 2>/dev/null
    tar -C "$W" -czf "$OUT/gpu-results.tgz" results $(cd "$W" && ls *.log 2>/dev/null) 2>/dev/null
  fi
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  run) run ;;
  *) echo "usage: bash bench/gpu.sh prepare [--ort-node VERSION] [--cuda-from FILE|DIR] | run   (GPU_SH_DRY_RUN=1 for a CPU dry run)" >&2; exit 2 ;;
esac
