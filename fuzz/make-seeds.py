#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora (small real files) under src/test/resources/.../CLASSInputs/METHOD/.

Run with Debian's PyTorch (/usr/bin/python3: torch, numpy, PIL, onnx). The output is committed; rerun only to change
the seeds. Each file stays under 50 KB. Crash files that Jazzer adds beside them (crash-*, timeout-*) are kept.
"""
import io, json, os, struct, sys, zipfile

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.join(HERE, "src", "test", "resources", "dev", "jresnet")


def out(pkg, cls, method, name):
    d = os.path.join(RES, pkg, cls + "Inputs", method)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


def state_dict():
    """A few small tensors of the kinds a ResNet state_dict holds: conv, bn (with int64 num_batches_tracked), fc."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, bias=False), torch.nn.BatchNorm2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(2, 3))
    return net.state_dict()


def pth():
    sd = state_dict()
    torch.save(sd, out("fuzz", "PthFuzzTest", "read", "zip-conv-bn-fc.pth"))
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()},
               out("fuzz", "PthFuzzTest", "read", "zip-fp16.pth"))
    w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    # Two tensors viewing one storage (offset and strides), and a Parameter.
    torch.save({"a": w, "b": w[1:, ::2], "p": torch.nn.Parameter(torch.ones(2))},
               out("fuzz", "PthFuzzTest", "read", "zip-views-parameter.pth"))
    torch.save(sd, out("fuzz", "PthFuzzTest", "read", "legacy-conv-bn-fc.pth"), _use_new_zipfile_serialization=False)
    torch.save([1, 2], out("fuzz", "PthFuzzTest", "read", "zip-not-a-dict.pth"))
    # The pickles alone, for the PickleReader target.
    for f in ("zip-conv-bn-fc.pth", "zip-fp16.pth", "zip-views-parameter.pth"):
        with zipfile.ZipFile(out("fuzz", "PthFuzzTest", "read", f)) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            with open(out("weights", "PickleFuzzTest", "read", f.replace(".pth", ".pkl")), "wb") as o:
                o.write(z.read(pkl))
    buf = io.BytesIO()
    torch.save(sd, buf, pickle_protocol=4)
    with zipfile.ZipFile(buf) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        with open(out("weights", "PickleFuzzTest", "read", "protocol4.pkl"), "wb") as o:
            o.write(z.read(pkl))


def safetensors():
    def write(name, tensors, metadata=None):
        header, data = {}, b""
        if metadata:
            header["__metadata__"] = metadata
        for k, (dtype, arr) in tensors.items():
            raw = arr.tobytes()
            header[k] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
            data += raw
        h = json.dumps(header, separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        with open(out("fuzz", "SafetensorsFuzzTest", "read", name), "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + data)

    sd = {k: v.numpy() for k, v in state_dict().items()}
    write("conv-bn-fc.safetensors", {k: ("I64" if v.dtype == np.int64 else "F32", v) for k, v in sd.items()},
          {"format": "pt", "jresnet.architecture": "resnet18"})
    write("f16-bf16-f64.safetensors", {
        "h": ("F16", np.arange(4, dtype="<f2")),
        "b": ("BF16", (np.arange(4, dtype="<f4").view("<u4") >> 16).astype("<u2")),
        "d": ("F64", np.arange(3, dtype="<f8").reshape(3, 1)),
        "s": ("F32", np.array(2.5, dtype="<f4")),
        "e": ("F32", np.zeros((0, 2), dtype="<f4"))})


def onnx_files():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False)
            self.bn1 = torch.nn.BatchNorm2d(4)
            self.fc = torch.nn.Linear(4, 5)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            x = torch.nn.functional.adaptive_avg_pool2d(torch.nn.functional.max_pool2d(x, 3, 2, 1), 1)
            return self.fc(torch.flatten(x, 1))

    torch.manual_seed(0)
    torch.onnx.export(Tiny().eval(), torch.zeros(1, 3, 8, 8), out("fuzz", "OnnxFuzzTest", "read", "torch-export.onnx"),
                      opset_version=13)
    # By hand: Conv (with attributes), Gemm, initializers in raw_data and in float_data/int64_data, metadata.
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "conv1.weight")
    fcw = helper.make_tensor("fc.weight", TensorProto.FLOAT, [3, 2], [0.5] * 6)
    fcb = helper.make_tensor("fc.bias", TensorProto.FLOAT, [3], [0.0, 1.0, 2.0])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [1, -1])
    nodes = [helper.make_node("Conv", ["x", "conv1.weight"], ["c"], kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1], group=1),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Reshape", ["p", "shape"], ["f"]),
             helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w, fcw, fcb, shape])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    helper.set_model_props(m, {"jresnet.architecture": "resnet18", "jresnet.variant": "v1.5"})
    onnx.save(m, out("fuzz", "OnnxFuzzTest", "read", "hand-made.onnx"))


def npy():
    d = lambda n: out("fuzz", "NpyFuzzTest", "read", n)
    np.save(d("f32-2x3.npy"), np.arange(6, dtype="<f4").reshape(2, 3))
    np.save(d("f64-4.npy"), np.linspace(0, 1, 4))
    np.save(d("u8-2x2x3.npy"), np.arange(12, dtype=np.uint8).reshape(2, 2, 3))
    np.save(d("f32-fortran-3x2.npy"), np.asfortranarray(np.arange(6, dtype="<f4").reshape(3, 2)))
    np.save(d("f32-scalar.npy"), np.float32(1.5))
    np.save(d("f32-empty-0x4.npy"), np.zeros((0, 4), dtype="<f4"))
    np.save(d("f32-be-3.npy"), np.arange(3, dtype=">f4"))
    with open(d("f32-v2-3.npy"), "wb") as fh:
        np.lib.format.write_array(fh, np.arange(3, dtype="<f4"), version=(2, 0))


def images():
    d = lambda n: out("fuzz", "ImageFuzzTest", "decode", n)
    rgb = Image.fromarray((np.arange(16 * 12 * 3) % 251).astype(np.uint8).reshape(12, 16, 3))
    rgb.save(d("rgb-16x12.png"))
    rgb.save(d("rgb-interlaced.png"), interlace=1)
    rgb.convert("RGBA").save(d("rgba.png"))
    rgb.convert("L").save(d("grey.png"))
    rgb.convert("1").save(d("grey-1bit.png"))
    rgb.convert("P", palette=Image.ADAPTIVE, colors=16).save(d("palette.png"))
    Image.fromarray((np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)).save(d("grey-16bit.png"))
    rgb.save(d("baseline.jpg"), quality=90)
    rgb.save(d("progressive.jpg"), quality=80, progressive=True)
    rgb.save(d("subsampling-444.jpg"), subsampling=0)
    rgb.convert("L").save(d("grey.jpg"))
    rgb.convert("CMYK").save(d("cmyk.jpg"))
    rgb.save(d("rgb.bmp"))
    rgb.convert("P", palette=Image.ADAPTIVE, colors=16).save(d("palette.bmp"))
    # 5-6-5 bits a pixel, which PIL reads but does not write: the fixtures' own BMP writer
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights", "reference"))
    from pil_fixtures import bmp16
    open(d("rgb565.bmp"), "wb").write(bmp16((np.arange(16 * 12) * 331 % 65536).astype(np.uint16).reshape(12, 16),
                                            (0xF800, 0x07E0, 0x001F)))
    rgb.save(d("rgb.gif"))
    rgb.save(d("animated.gif"), save_all=True, append_images=[Image.fromarray(255 - np.asarray(rgb))])
    rgb.save(d("rgb-lzw.tif"), compression="tiff_lzw")
    rgb.save(d("rgb-deflate.tif"), compression="tiff_adobe_deflate")
    rgb.convert("P", palette=Image.ADAPTIVE, colors=16).save(d("palette.tif"))
    rgb.convert("CMYK").save(d("cmyk.tif"))
    rgb.save(d("jpeg.tif"), compression="jpeg")
    rgb.save(d("rgb.webp"))


if __name__ == "__main__":
    pth(); safetensors(); onnx_files(); npy(); images()
    total = 0
    for root, _, files in os.walk(RES):
        for f in files:
            size = os.path.getsize(os.path.join(root, f))
            total += size
            if size > 50_000:
                sys.exit(f"{f}: {size} bytes, over the 50 KB a seed may have")
    print(f"seeds: {total} bytes")
