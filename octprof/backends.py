"""Deployment backends for ``octprof bench``: the octave network exported through ``torch.onnx`` and timed in the
runtimes people deploy on CPU.

- ``eager``: PyTorch as it is; ``compile``: ``torch.compile`` (after ``torch._dynamo.reset()``);
- ``onnxruntime``: ONNX Runtime's CPU execution provider, all graph optimisations, ``intra_op_num_threads`` set to
  the run's thread count, one inter-op thread, sequential execution;
- ``openvino``: OpenVINO's CPU plugin with ``INFERENCE_NUM_THREADS`` set and the inference precision pinned to f32
  (OpenVINO picks bf16 by itself on CPUs that have it; the precision it reports is recorded with the rows).

Exported backends measure inference only, on CPU, in float32; each takes its input as a NumPy array made once, so
the timed call is the runtime's own.  The optional extras: ``pip install 'octprof[onnx]'`` / ``'octprof[openvino]'``.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

from octprof.core.errors import bad

BACKENDS: tuple[str, ...] = ("eager", "compile", "onnxruntime", "openvino")
EXPORTED: tuple[str, ...] = ("onnxruntime", "openvino")


def check_backend(backend: str, device: Any, dtype: Any, mode: str) -> str:
    """``backend`` if it can run this (device, dtype, mode), else a one-line error naming what is allowed."""
    if backend not in BACKENDS:
        raise bad("--backend", backend, f"expected one of {', '.join(BACKENDS)}")
    if backend in EXPORTED:
        import torch

        if torch.device(device).type != "cpu":
            raise bad("--backend", backend, "exported backends run on the CPU here", "use --device cpu")
        if dtype != torch.float32:
            raise bad("--backend", backend, f"exported backends run in float32, not {str(dtype).replace('torch.', '')}")
        if mode != "infer":
            raise bad("--backend", backend, "exported backends measure inference only", "use --mode infer")
        _require(backend)
    return backend


def _require(backend: str) -> None:
    module = {"onnxruntime": "onnxruntime", "openvino": "openvino"}[backend]
    try:
        __import__(module)
        __import__("onnx")
    except ImportError:
        extra = "onnx" if backend == "onnxruntime" else "openvino"
        raise bad("--backend", backend, f"{module} is not installed", f"pip install 'octprof[{extra}]'") from None


def onnx_bytes(model: Any, x: Any) -> bytes:
    """``model`` exported to ONNX (TorchScript-based exporter where it is available, else the dynamo one)."""
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=17)
        except (TypeError, RuntimeError, ValueError):
            buf = io.BytesIO()
            torch.onnx.export(model, (x,), buf, dynamo=True, verbose=False)
    return buf.getvalue()


def exported_step(backend: str, model: Any, x: Any, threads: int) -> tuple[Callable[[], Any], str]:
    """A callable that runs one inference of ``model`` on ``x`` in ``backend``, and the precision it runs in."""
    data = onnx_bytes(model, x)
    arr = x.detach().cpu().contiguous().numpy()
    if backend == "onnxruntime":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return (lambda: sess.run(None, {name: arr})), "float32"
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(data), "CPU", {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
    )
    request = compiled.create_infer_request()
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")
    precision = {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}.get(hint.to_string(), hint.to_string())
    return (lambda: request.infer({0: arr})), precision
