"""Loads a model saved by nodegrad into PyTorch and checks it predicts what nodegrad predicted.

    node save-for-pytorch.mjs OUT_DIR && python3 load_in_pytorch.py OUT_DIR

nodegrad saves safetensors, not a pickle, so torch.load refuses the file ("UnpicklingError:
invalid load key"). safetensors.torch.load_file reads it when the safetensors pip package is
installed; read_safetensors below does the same with json, struct and torch only.
"""
import json
import os
import struct
import sys

import torch


def read_safetensors(path):
    """A safetensors file: 8 bytes little-endian header length, a JSON header, then raw tensors."""
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[info["dtype"]])
        tensors[name] = flat.reshape(info["shape"])
    return tensors


def load_file(path):
    try:
        from safetensors.torch import load_file as st_load_file
    except ImportError:
        return read_safetensors(path)
    return st_load_file(path)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    state = load_file(os.path.join(out_dir, "digits-mlp.safetensors"))
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    model.load_state_dict(state)  # strict: every name and shape must match
    model.eval()

    with open(os.path.join(out_dir, "digits-mlp.check.json")) as f:
        check = json.load(f)
    x = torch.tensor(check["inputs"], dtype=torch.float32).reshape(check["shape"])
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=-1)
    expected = torch.tensor(check["probs"], dtype=torch.float32).reshape(probs.shape)
    diff = (probs - expected).abs().max().item()
    print(f"PyTorch {torch.__version__}: loaded {len(state)} tensors; predicted classes {probs.argmax(-1).tolist()}")
    print(f"largest difference from nodegrad's probabilities: {diff:.2e}")
    if diff > 1e-5:
        sys.exit("FAIL: PyTorch and nodegrad disagree")


if __name__ == "__main__":
    main()
