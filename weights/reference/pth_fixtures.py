#!/usr/bin/env python3
"""Writes small .pth files with the real torch.save, plus the values the Java readers must find in them.

Usage: pth_fixtures.py OUTDIR

For each fixture NAME: NAME.pth (or NAME.safetensors), NAME.json (a list of {name, dtype, shape, offset} in
state_dict order; offset counts 8-byte slots in NAME.bin) and NAME.bin (each tensor's values, little-endian:
float64 after torch's own widening to float32 for floating tensors, int64 for integer ones, so one record format
serves both). Also half.json/half_*.bin: torch's float<->fp16/bf16 conversions for the Half tests.
Fixed seed: the outputs are the same on every run.
"""
import copy
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.fc(x.mean((2, 3)))


def dump(out, name, sd):
    records, blobs, offset = [], [], 0
    for k, t in sd.items():
        t = t.detach()
        if t.is_floating_point():
            v = t.float().double().contiguous().numpy().astype('<f8')  # float32 values, exactly
        else:
            v = t.long().contiguous().numpy().astype('<i8')
        records.append({'name': k, 'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape),
                        'offset': offset})
        blobs.append(v.reshape(-1).tobytes())
        offset += v.size
    with open(os.path.join(out, name + '.json'), 'w') as f:
        json.dump(records, f)
    with open(os.path.join(out, name + '.bin'), 'wb') as f:
        f.write(b''.join(blobs))


def storage_records(path):
    with zipfile.ZipFile(path) as z:
        return [n for n in z.namelist() if '/data/' in n]


def write_safetensors(path, tensors, metadata):
    """An independent writer (the safetensors package is not installed): struct + json, as the format spec says."""
    codes = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64',
             torch.float64: 'F64'}
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for k, t in tensors.items():
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().astype('<i2').tobytes()
        else:
            raw = t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()
        header[k] = {'dtype': codes[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode('utf-8')
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        f.write(b''.join(blobs))


def half_tables(out):
    # every fp16 bit pattern widened; then floats that stress rounding, narrowed to fp16 and bf16
    all16 = torch.arange(65536, dtype=torch.int32).to(torch.int16).view(torch.float16).float()
    all16.numpy().astype('<f4').tofile(os.path.join(out, 'half_f16_all.bin'))
    g = np.random.default_rng(7)
    n = 1 << 16
    sign = g.integers(0, 2, n, dtype=np.uint32) << 31
    exp = g.integers(95, 146, n, dtype=np.uint32) << 23  # around fp16's range, subnormals and overflow
    mant = g.integers(0, 1 << 23, n, dtype=np.uint32)
    ties = mant & ~np.uint32(0x1fff) | np.uint32(0x1000)  # exact fp16 ties (normal range)
    bties = mant & ~np.uint32(0xffff) | np.uint32(0x8000)  # exact bf16 ties
    anyb = g.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    edge = np.array([0, 0x80000000, 0x7f800000, 0xff800000, 0x7f7fffff, 0x00000001, 0x00800000, 0x33000000,
                     0x33000001, 0x33800000, 0x387fc000, 0x38800000, 0x477fe000, 0x477ff000, 0x477fefff,
                     0x47800000, 0x3f800000, 0x3f801000, 0x3f803000, 0x3f808000, 0x3f818000],
                    dtype=np.uint32)
    bits = np.concatenate([edge, sign | exp | mant, sign | exp | ties, sign | exp | bties, anyb])
    bits = bits[~np.isnan(bits.view(np.float32))]  # NaN payloads differ between implementations; tested in Java
    f = torch.from_numpy(bits.view(np.float32).copy())
    bits.astype('<u4').tofile(os.path.join(out, 'half_in.bin'))
    f.half().view(torch.int16).numpy().astype('<i2').tofile(os.path.join(out, 'half_to_f16.bin'))
    f.bfloat16().view(torch.int16).numpy().astype('<i2').tofile(os.path.join(out, 'half_to_bf16.bin'))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1234)
    m = Small()
    with torch.no_grad():
        m.bn.weight.uniform_(0.5, 1.5)
        m.bn.bias.uniform_(-0.5, 0.5)
    m.train()
    m(torch.randn(2, 3, 6, 6))  # moves the running stats and num_batches_tracked off their defaults
    m.eval()

    def save(name, sd):
        path = os.path.join(out, name + '.pth')
        torch.save(sd, path)
        dump(out, name, sd)
        return path

    sd = m.state_dict()
    if int(sd['bn.num_batches_tracked']) != 1:
        raise SystemExit('num_batches_tracked did not move: %s' % sd['bn.num_batches_tracked'])
    save('a_f32', sd)
    save('b_f16', copy.deepcopy(m).half().state_dict())
    save('c_bf16', copy.deepcopy(m).bfloat16().state_dict())

    t = torch.randn(6, 8)
    views = {'row': t[2], 'col': t[:, 3], 'tr': t.t(), 'slice': t[1:4, 2:7], 'scalar': t[3, 5],
             'param': nn.Parameter(torch.randn(2, 3)), 'f64': torch.randn(3, dtype=torch.float64),
             'i64': torch.arange(-2, 5)}
    p = save('d_views', views)
    recs = storage_records(p)
    if len(recs) != 4:  # the five views share one storage; param, f64, i64 have their own
        raise SystemExit('views do not share one storage: %s' % recs)

    st = {k: v.clone() for k, v in sd.items()}
    st['half'] = torch.randn(2, 3).half()
    st['bhalf'] = torch.randn(3, 2).bfloat16()
    st['f64'] = torch.randn(4, dtype=torch.float64)
    st['scalar'] = torch.tensor(2.5)
    write_safetensors(os.path.join(out, 'e_py.safetensors'), st, {'format': 'pt', 'note': 'written by python'})
    dump(out, 'e_py', st)

    half_tables(out)
    print('fixtures written to', out)


if __name__ == '__main__':
    main()
