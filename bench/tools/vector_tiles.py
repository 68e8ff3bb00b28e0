"""Writes the register-tile kernels of java/src/main/java/dev/jresnet/cpu/VectorTiles.java.

Usage: python3 bench/tools/vector_tiles.py 8x3 8x2 8x1 ...  (rows x vectors), then paste the methods it prints
over the old ones. Every tile has the same shape (accumulators named cIJ, one broadcast of A per row, one FMA
per accumulator per step p), so they are regenerated together, never edited one by one.
"""
import sys
def regs(rows,vec):
    return rows*vec + vec + 1
def gen(rows, vec):
    o=[]
    w=o.append
    w(f"    /** {rows} rows x {vec} vector{'s' if vec>1 else ''}: {rows*vec} accumulators + {vec} B vector{'s' if vec>1 else ''} + 1 broadcast = {regs(rows,vec)} registers. */")
    w(f"    static void kernel{rows}x{vec}(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,")
    w(f"                            boolean zero) {{")
    rs=["r0 = cIdx"]+[f"r{i} = r{i-1} + ldc" for i in range(1,rows)]
    w("        int "+", ".join(rs)+";")
    w("        FloatVector z = FloatVector.zero(S);")
    def off(j): return "" if j==0 else f" + {j} * L"
    for i in range(rows):
        for j in range(vec):
            w(f"        FloatVector c{i}{j} = zero ? z : FloatVector.fromArray(S, c, r{i}{off(j)});")
    w(f"        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += {rows}, bi += {vec} * L) {{")
    for j in range(vec):
        w(f"            FloatVector b{j} = FloatVector.fromArray(S, bp, bi{off(j)});")
    for i in range(rows):
        a = "ap[ai]" if i==0 else f"ap[ai + {i}]"
        w(f"            {'FloatVector a' if i==0 else 'a'} = FloatVector.broadcast(S, {a});")
        for j in range(vec):
            n = f"c{i}{j}"
            w(f"            {n} = a.fma(b{j}, {n});")
    w("        }")
    for i in range(rows):
        for j in range(vec):
            n = f"c{i}{j}"
            w(f"        {n}.intoArray(c, r{i}{off(j)});")
    w("    }")
    return "\n".join(o)
for a in sys.argv[1:]:
    r,v=map(int,a.split('x')); print(gen(r,v)); print()
