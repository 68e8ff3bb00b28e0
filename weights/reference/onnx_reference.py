#!/usr/bin/env python3
"""ONNX references for jresnet's tests (Debian's python3-torch and python3-onnx).

  onnx_reference.py export PTH OUT.onnx   torchvision resnet50 with PTH's weights, exported by
                                          torch.onnx.export (opset 13, dynamic batch, constant folding on,
                                          so BatchNorm is folded into the convolutions)
  onnx_reference.py check FILE.onnx       onnx.checker.check_model(full_check=True); prints the opset,
                                          inputs and outputs
"""
import sys
import torch
import torchvision
import onnx

mode = sys.argv[1]
if mode == "export":
    model = torchvision.models.resnet50()
    model.load_state_dict(torch.load(sys.argv[2]))
    model.eval()
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(model, x, sys.argv[3], opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
    m = onnx.load(sys.argv[3])
    ops = sorted({n.op_type for n in m.graph.node})
    print("exported", sys.argv[3], "ops:", ",".join(ops))
elif mode == "check":
    m = onnx.load(sys.argv[2])
    onnx.checker.check_model(m, full_check=True)
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    print("ok opset", m.opset_import[0].version,
          "inputs", [(i.name, dims(i)) for i in m.graph.input],
          "outputs", [(o.name, dims(o)) for o in m.graph.output])
else:
    sys.exit("usage: onnx_reference.py export PTH OUT.onnx | check FILE.onnx")
