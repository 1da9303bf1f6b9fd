"""Open the pair on the chosen backend: what merges (a `Blender`) and what generates (a `Backend`)."""

from __future__ import annotations

from pathlib import Path

from mi_search.backends.base import Backend, Blender
from mi_search.backends.settings import BackendName, TemplateSource, VLLMSettings


def open_models(
    backend: BackendName,
    instruct: str | Path,
    thinking: str | Path,
    *,
    device: str = "auto",
    dtype: str = "auto",
    trust_remote_code: bool = False,
    batch_size: int = 256,
    vllm: VLLMSettings | None = None,
    chat_template: TemplateSource = "instruct",
) -> tuple[Blender, Backend]:
    """Check the pair, then load each source once; on vLLM one engine merges and generates.

    Prompts go through the chat template (and tokenizer) of the source `chat_template` names.
    """
    if backend == "hf":
        from mi_search.backends.hf import HFBackend
        from mi_search.pair import load_pair

        pair = load_pair(
            instruct,
            thinking,
            device=device,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            chat_template=chat_template,
        )
        return pair, HFBackend(pair.model, pair.tokenizer, batch_size=batch_size)
    from mi_search.backends.vllm_engine import checkpoint_plan, open_vllm
    from mi_search.checkpoints import read_config, resolve_pair

    instruct_dir, thinking_dir, table = resolve_pair(instruct, thinking)
    plan = checkpoint_plan(instruct_dir, table, read_config(instruct_dir)["num_hidden_layers"])
    engine = open_vllm(
        instruct_dir,
        thinking_dir,
        plan,
        settings=vllm or VLLMSettings(),
        dtype=dtype,
        trust_remote_code=trust_remote_code,
        tokenizer_dir=thinking_dir if chat_template == "thinking" else instruct_dir,
    )
    return engine, engine
