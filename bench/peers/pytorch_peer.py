#!/usr/bin/env python3
"""PyTorch peer of `jresnet bench`: torchvision's resnet50 (or --arch) with jresnet's weights, serving timed runs.

Started by dev.jresnet.bench.PyTorchPeer, which talks to it one line at a time:

  stdout, once loaded:   ready torch=VERSION torchvision=VERSION device=D mode=M precision=P threads=N
  stdin  load IN.npy     make the float32 batch [N,3,H,W] in IN.npy the input (moved to the device once)
  stdout ok
  stdin  run [OUT.npy]   one forward pass, timed here with perf_counter (on CUDA between synchronisations);
                         with OUT.npy also save the logits as float32 [N,classes], outside the timing
  stdout ok SECONDS
  stdin  quit
Any failure answers `error MESSAGE` (or, before `ready`, exits non-zero with the reason on stderr).
stdout carries only this protocol; everything else goes to stderr.

Options:
  --weights FILE      float32 .safetensors written by jresnet (parsed with json + numpy: no safetensors package)
  --arch NAME         torchvision builder: resnet18 ... resnext101_64x4d (default resnet50)
  --variant v1.5|v1   where downsampling blocks put their stride (v1: on the first 1x1 convolution)
  --classes K         outputs of the classifier
  --threads N         torch.set_num_threads
  --device cpu|cuda
  --precision fp32|tf32|fp16   tf32 and fp16 need CUDA; fp16 runs half-precision weights, channels_last
  --mode eager|compile         compile: torch.compile (PyTorch 2.x)
"""
import argparse
import json
import sys
import time

import numpy as np


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def fail(msg):
    log(msg)
    sys.exit(2)


def read_safetensors(path):
    """Returns {name: numpy array} of a safetensors file whose floating tensors are F32 (I64 also accepted)."""
    dtypes = {"F32": np.float32, "I64": np.int64}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in dtypes:
            fail("%s: tensor %s is %s; the peer reads F32 and I64 only" % (path, name, info["dtype"]))
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"]).copy()
    return tensors


def build(args, torch, torchvision):
    model = getattr(torchvision.models, args.arch)(num_classes=args.classes)
    if args.variant == "v1" and hasattr(model.layer2[0], "conv3"):
        for layer in (model.layer2, model.layer3, model.layer4):
            layer[0].conv1.stride = (2, 2)
            layer[0].conv2.stride = (1, 1)
    state = {k: torch.from_numpy(v) for k, v in read_safetensors(args.weights).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # jresnet writes no BatchNorm counters; they do not take part in inference.
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        fail("weights do not fit torchvision's %s: missing %s, unexpected %s" % (args.arch, missing, unexpected))
    model.eval()
    return model


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", required=True)
    p.add_argument("--arch", default="resnet50")
    p.add_argument("--variant", default="v1.5", choices=["v1.5", "v1"])
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "fp16"])
    p.add_argument("--mode", default="eager", choices=["eager", "compile"])
    args = p.parse_args()

    try:
        import torch
        import torchvision
    except ImportError as e:
        fail("cannot import torch/torchvision: %s" % e)

    torch.set_num_threads(args.threads)
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        fail("--device cuda: torch %s sees no usable CUDA device" % torch.__version__)
    if not cuda and args.precision != "fp32":
        fail("--precision %s needs --device cuda" % args.precision)
    if cuda:
        # fp32 means true fp32: PyTorch would otherwise let cuDNN use TF32 for convolutions.
        torch.backends.cuda.matmul.allow_tf32 = args.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = args.precision == "tf32"
        torch.backends.cudnn.benchmark = True

    model = build(args, torch, torchvision)
    device = torch.device(args.device)
    model = model.to(device)
    fp16 = args.precision == "fp16"
    if fp16:
        model = model.half().to(memory_format=torch.channels_last)
    if args.mode == "compile":
        if not hasattr(torch, "compile"):
            fail("--mode compile needs torch.compile (PyTorch 2.x); this is torch %s" % torch.__version__)
        model = torch.compile(model)

    out = sys.stdout
    out.write("ready torch=%s torchvision=%s device=%s mode=%s precision=%s threads=%d\n"
              % (torch.__version__, torchvision.__version__, args.device, args.mode, args.precision,
                 torch.get_num_threads()))
    out.flush()

    x = None
    with torch.inference_mode():
        for line in sys.stdin:
            parts = line.split()
            if not parts:
                continue
            try:
                if parts[0] == "quit":
                    break
                elif parts[0] == "load":
                    arr = np.load(parts[1])
                    if arr.dtype != np.float32 or arr.ndim != 4:
                        raise ValueError("%s: expected float32 [N,3,H,W], found %s %s" % (parts[1], arr.dtype, arr.shape))
                    x = torch.from_numpy(arr).to(device)
                    if fp16:
                        x = x.half().contiguous(memory_format=torch.channels_last)
                    out.write("ok\n")
                elif parts[0] == "run":
                    if x is None:
                        raise ValueError("run before load")
                    if cuda:
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    y = model(x)
                    if cuda:
                        torch.cuda.synchronize()
                    t = time.perf_counter() - t0
                    if len(parts) > 1:
                        np.save(parts[1], y.float().cpu().numpy().astype(np.float32))
                    out.write("ok %.9f\n" % t)
                else:
                    raise ValueError("unknown request %r" % parts[0])
            except Exception as e:  # the Java side turns this into an exception naming the request
                out.write("error %s\n" % str(e).replace("\n", " "))
            out.flush()


if __name__ == "__main__":
    main()
