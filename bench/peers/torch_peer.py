#!/usr/bin/env python3
"""PyTorch side of bench/gpu-check.sh (runs on the GPU machine, PyTorch 2.x + torchvision, CUDA).

  torch_peer.py make OUTDIR            seeded resnet50 (random BatchNorm statistics) -> OUTDIR/resnet50_seeded.pth,
                                       OUTDIR/input.npy [8,3,224,224], OUTDIR/torch_fp32.npy (GPU, TF32 off),
                                       OUTDIR/torch_fp16_cl.npy (GPU, fp16, channels_last)
  torch_peer.py compare OUTDIR         jresnet_{fp32,tf32,fp16}.npy against torch_fp32.npy: relative L2, top-1
  torch_peer.py bench OUTDIR CSV BATCHES SECONDS [eager|compile]
                                       eager: times eager fp32 (TF32 off), tf32 and fp16 channels_last;
                                       compile: torch.compile fp16 channels_last; appends CSV rows
                                       impl,precision,batch,ms_per_batch,images_per_s,tflops
  torch_peer.py table CSV              the compact comparison table, with the two targets
  torch_peer.py train OUTDIR CSV BATCH SECONDS
                                       fine-tuning speed, as GpuTrainCheck measures jresnet: new 10-class head,
                                       layer4 + fc trainable, BatchNorm in eval mode, SGD momentum 0.9, a host batch
                                       copied in each step; fp32 (TF32 off) and AMP (fp16 autocast + GradScaler,
                                       channels_last); then head-only steps on cached [1024, 2048] features
                                       (one epoch = 16 steps of 64). Appends rows to CSV (images_per_s; for the
                                       head, batch = 1024 and images_per_s = cached images/s, ms = one epoch)
"""
import os
import sys
import time

import numpy as np

GFLOP = 8.18


def model_and_input(out):
    import torch
    import torchvision
    torch.manual_seed(1234)
    m = torchvision.models.resnet50()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(1.0 + 0.2 * torch.randn(c))
                mod.bias.copy_(0.1 * torch.randn(c))
                mod.running_mean.copy_(0.1 * torch.randn(c))
                mod.running_var.copy_(0.5 + torch.rand(c))
    m.eval()
    x = torch.randn(8, 3, 224, 224)
    return m, x


def make(out):
    import torch
    os.makedirs(out, exist_ok=True)
    m, x = model_and_input(out)
    torch.save(m.state_dict(), os.path.join(out, "resnet50_seeded.pth"))
    np.save(os.path.join(out, "input.npy"), x.numpy().astype(np.float32))
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    m = m.cuda()
    with torch.no_grad():
        ref = m(x.cuda()).float().cpu().numpy()
        np.save(os.path.join(out, "torch_fp32.npy"), ref)
        m16 = m.half().to(memory_format=torch.channels_last)
        r16 = m16(x.cuda().half().to(memory_format=torch.channels_last)).float().cpu().numpy()
        np.save(os.path.join(out, "torch_fp16_cl.npy"), r16)
    print("torch", torch.__version__, "on", torch.cuda.get_device_name(0), "logits", ref.shape)


def rel_l2(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def compare(out):
    ref = np.load(os.path.join(out, "torch_fp32.npy"))
    # the GPU tests' whole-network limits (dev.jresnet.testing.Tolerances.network): TF32 rounds operands like fp16
    limits = {"fp32": 1e-5, "tf32": 1e-2, "fp16": 1e-2}
    ok = True
    rows = []
    for name, limit in limits.items():
        path = os.path.join(out, "jresnet_%s.npy" % name)
        if not os.path.exists(path):
            rows.append("  jresnet %-5s MISSING (%s)" % (name, path))
            ok = False
            continue
        got = np.load(path)
        err = rel_l2(got, ref)
        top1 = int((got.argmax(1) == ref.argmax(1)).sum())
        good = err <= limit
        ok &= good
        rows.append("  jresnet %-5s vs torch fp32: relative L2 %.2e (limit %.0e) %s, top-1 agrees %d/%d"
                    % (name, err, limit, "ok" if good else "FAIL", top1, ref.shape[0]))
    t16 = np.load(os.path.join(out, "torch_fp16_cl.npy"))
    rows.append("  (torch fp16 channels_last vs torch fp32: relative L2 %.2e)" % rel_l2(t16, ref))
    print("logits, same weights and inputs, on the GPU:")
    print("\n".join(rows))
    return 0 if ok else 1


def bench(out, csv, batches, seconds, mode):
    """mode "eager": eager fp32 (TF32 off), tf32, fp16 channels_last; mode "compile": torch.compile fp16 only.
    Each row is appended to CSV as soon as it is measured (a time limit keeps what was done)."""
    import torch
    m, _ = model_and_input(out)
    m = m.cuda().eval()

    def timeit(fn, x):
        with torch.no_grad():
            for _ in range(3):
                fn(x)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn(x)
            torch.cuda.synchronize()
            once = time.perf_counter() - t0
            iters = int(max(5, min(5000, seconds / max(once, 1e-6))))
            t0 = time.perf_counter()
            for _ in range(iters):
                fn(x)
            torch.cuda.synchronize()
            return (time.perf_counter() - t0) * 1000 / iters

    def record(impl, prec, n, ms):
        row = "%s,%s,%d,%.4f,%.1f,%.2f" % (impl, prec, n, ms, n * 1000 / ms, n * GFLOP / ms)
        print(row, flush=True)
        write(csv, [row])

    def fp16_input(n):
        return torch.randn(n, 3, 224, 224, device="cuda").half().to(memory_format=torch.channels_last)

    torch.backends.cudnn.benchmark = True
    if mode == "eager":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        for n in batches:
            record("torch eager", "fp32", n, timeit(m, torch.randn(n, 3, 224, 224, device="cuda")))
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = True
        for n in batches:
            record("torch eager", "tf32", n, timeit(m, torch.randn(n, 3, 224, 224, device="cuda")))
    m16 = m.half().to(memory_format=torch.channels_last)
    if mode == "eager":
        for n in batches:
            record("torch eager channels_last", "fp16", n, timeit(m16, fp16_input(n)))
    else:
        c16 = torch.compile(m16, dynamic=False)
        for n in batches:
            record("torch.compile channels_last", "fp16", n, timeit(c16, fp16_input(n)))


def train(out, csv, batch, seconds):
    import torch
    m, _ = model_and_input(out)
    m.fc = torch.nn.Linear(2048, 10)
    for name, p in m.named_parameters():
        p.requires_grad = name.startswith("layer4.") or name.startswith("fc.")
    m = m.cuda().eval()  # BatchNorm on running statistics, like jresnet without --train-bn
    params = [p for p in m.parameters() if p.requires_grad]
    x_host = torch.randn(batch, 3, 224, 224)
    y = (torch.arange(batch) % 10).cuda()
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    torch.backends.cudnn.benchmark = True

    def run(step, warm=3):
        for _ in range(warm):
            step()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        once = time.perf_counter() - t0
        iters = int(max(3, min(2000, seconds / max(once, 1e-6))))
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1000 / iters

    def record(impl, prec, n, ms, per):
        row = "%s,%s,%d,%.4f,%.1f,0" % (impl, prec, n, ms, per * 1000 / ms)
        print(row, flush=True)
        write(csv, [row])

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)

    def step32():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(m(x_host.cuda()), y)
        loss.backward()
        opt.step()
        return loss.item()

    record("torch train layer4", "fp32", batch, run(step32), batch)
    mcl = m.to(memory_format=torch.channels_last)
    scaler = torch.amp.GradScaler("cuda")
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)

    def step_amp():
        opt.zero_grad(set_to_none=False)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = loss_fn(mcl(x_host.cuda().to(memory_format=torch.channels_last)), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss.item()

    record("torch train layer4 AMP", "fp16", batch, run(step_amp), batch)
    head = torch.nn.Linear(2048, 10).cuda()
    feats = torch.randn(1024, 2048)
    labels = (torch.arange(1024) % 10).cuda()
    hopt = torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9)

    def epoch():
        for i in range(0, 1024, 64):
            hopt.zero_grad(set_to_none=False)
            loss = loss_fn(head(feats[i:i + 64].cuda()), labels[i:i + 64])
            loss.backward()
            hopt.step()
            loss.item()

    record("torch head epoch (cached)", "fp32", 1024, run(epoch, 1), 1024)


def write(csv, rows):
    new = not os.path.exists(csv)
    with open(csv, "a") as f:
        if new:
            f.write("impl,precision,batch,ms_per_batch,images_per_s,tflops\n")
        for r in rows:
            f.write(r + "\n")


def table(csv):
    lines = [l.strip().split(",") for l in open(csv) if l.strip()][1:]
    data = {}
    for impl, prec, n, ms, ips, tf in lines:
        data[(impl, prec, int(n))] = (float(ms), float(ips), float(tf))
    batches = sorted({k[2] for k in data})
    configs = []
    for k in data:
        if (k[0], k[1]) not in configs:
            configs.append((k[0], k[1]))
    print("%-30s %-5s " % ("implementation", "prec") + " ".join("%26s" % ("batch %d: ms  img/s  TFLOP/s" % b) for b in batches))
    for impl, prec in configs:
        cells = []
        for b in batches:
            v = data.get((impl, prec, b))
            cells.append("%26s" % ("-" if v is None else "%8.3f %8.0f %6.1f" % v))
        print("%-30s %-5s " % (impl, prec) + " ".join(cells))
    big = max(batches)
    j = data.get(("jresnet graphs", "fp16", big))
    t = data.get(("torch eager channels_last", "fp16", big))
    if j and t:
        ratio = j[1] / t[1]
        print("target: batch %d fp16 jresnet >= 1.3x torch eager fp16 channels_last: %.2fx %s"
              % (big, ratio, "MET" if ratio >= 1.3 else "NOT MET"))
    one = data.get(("jresnet graphs", "fp16", 1))
    if one:
        print("target: batch 1 fp16 with CUDA graphs <= 0.5 ms/image: %.3f ms %s"
              % (one[0], "MET" if one[0] <= 0.5 else "NOT MET"))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2])
    elif cmd == "compare":
        sys.exit(compare(sys.argv[2]))
    elif cmd == "bench":
        bench(sys.argv[2], sys.argv[3], [int(b) for b in sys.argv[4].split(",")], float(sys.argv[5]),
              sys.argv[6] if len(sys.argv) > 6 else "eager")
    elif cmd == "train":
        train(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "table":
        table(sys.argv[2])
    else:
        sys.exit("unknown command " + cmd)
