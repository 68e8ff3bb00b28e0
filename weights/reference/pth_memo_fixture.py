#!/usr/bin/python3
"""Writes the committed fixture java/src/test/resources/dev/jresnet/weights/memo-and-wide-ints.pth with torch.save.

The small fixtures of pth_fixtures.py (made at test time, and only where torch is installed) never need the pickle
opcodes of a large state_dict: LONG_BINPUT and LONG_BINGET (memo indices >= 256), BININT2 (ints 256..65535) and BININT
(ints >= 65536). This one does, and is committed so that PthReaderMemoTest reads it without PyTorch. Its values follow
formulas that the test recomputes:

  a000 .. a149  views [2] of storage A (300 floats, A[j] = (j - 150) / 4): aI = A[2I : 2I + 2], offsets up to 298
  b000 .. b149  views [2] of storage B (300 floats, B[j] = 1000 + j / 2), first used after the 256th memo entry,
                so that every later tensor of B fetches B's key string with LONG_BINGET
  wide          [1, 3] with stride (40000, 1) over C = [1.5, -2.5, 3.5]: 40000 >= 32768 is a BININT2 whose sign bit
                is set (read as signed it is -25536)
  wider         [1, 3] with stride (70000, 1) over the same C: 70000 is a BININT
                (a dimension >= 32768 would need as many elements, or an empty tensor, which jresnet refuses)
  counts        int64 [40000, 70000, -5, 2**40]

Usage: pth_memo_fixture.py [OUTFILE]   (Debian's /usr/bin/python3 with torch 1.13; the output is the same every run)
It fails unless the pickle holds each of the four opcodes, and prints how often each occurs.
"""
import collections
import io
import os
import pickletools
import sys
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "java", "src", "test", "resources", "dev", "jresnet", "weights",
                       "memo-and-wide-ints.pth")
NEEDED = ("LONG_BINPUT", "LONG_BINGET", "BININT2", "BININT")


def state_dict():
    a = (torch.arange(300, dtype=torch.float32) - 150) / 4
    b = 1000 + torch.arange(300, dtype=torch.float32) / 2
    c = torch.tensor([1.5, -2.5, 3.5])
    sd = collections.OrderedDict()
    for i in range(150):
        sd["a%03d" % i] = a[2 * i:2 * i + 2]
    for i in range(150):
        sd["b%03d" % i] = b[2 * i:2 * i + 2]
    sd["wide"] = c.as_strided((1, 3), (40000, 1))
    sd["wider"] = c.as_strided((1, 3), (70000, 1))
    sd["counts"] = torch.tensor([40000, 70000, -5, 2 ** 40], dtype=torch.int64)
    return sd


def opcode_counts(path):
    with zipfile.ZipFile(path) as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))
    counts = collections.Counter(op.name for op, _, _ in pickletools.genops(io.BytesIO(pkl)))
    return counts, len(pkl)


def main():
    path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(state_dict(), path)
    counts, pkl_bytes = opcode_counts(path)
    missing = [op for op in NEEDED if counts[op] == 0]
    if missing:
        raise SystemExit("%s: the pickle lacks %s" % (path, ", ".join(missing)))
    print("%s: %d bytes, data.pkl %d bytes; %s" % (path, os.path.getsize(path), pkl_bytes,
                                                 ", ".join("%s %d" % (op, counts[op]) for op in NEEDED)))


if __name__ == "__main__":
    main()
