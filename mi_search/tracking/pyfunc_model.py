"""The registered model: an MLflow pyfunc around a merged HF checkpoint that generates with the study's decoding."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc

CHECKPOINT_ARTIFACT = "checkpoint"


class MergedModel(mlflow.pyfunc.PythonModel):
    """`predict` takes a list of prompts and returns one completion each, decoded as the study decoded."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        from mi_search.evaluation.decoding import DecodingParams
        from mi_search.backends.hf_generate import HFGenerator

        directory = context.artifacts[CHECKPOINT_ARTIFACT]
        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if device == "cuda" else torch.float32  # bf16 matmuls are slow on most CPUs
        bar = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()  # a served model loads quietly; the caller's setting comes back
        try:
            model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype, use_safetensors=True).to(device).eval()
        finally:
            if bar:
                transformers_logging.enable_progress_bar()
        self.generator = HFGenerator(model, AutoTokenizer.from_pretrained(directory))
        self.decoding = DecodingParams.model_validate(context.model_config)

    def predict(self, model_input: list[str], params: dict[str, Any] | None = None) -> list[str]:
        # MLflow reads the signature (list of strings in, list of strings out) from these type hints.
        return [outs[0].text for outs in self.generator.generate(list(model_input), 1, self.decoding)]
