"""`HFBackend`: a transformers chat model run in-process (MLR-Copilot's `llama` = Llama-3.1-8B-Instruct), on GPU when
one is available and on the CPU otherwise.

Structured output: the schema is appended to the last user message and the shared client validates the reply and
retries with the error (transformers has no grammar-constrained decoding built in). Tool calls use the same JSON
action format as the local backend. transformers and torch are the optional extra `hf`: importing this module does
not need them; constructing a backend without them fails with one line saying how to install them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from copilot.llm.base import Completion, PermanentLLMError, Request, ToolCall, Usage
from copilot.llm.local import _flatten_messages, tool_instructions

log = logging.getLogger(__name__)
INSTALL = "install the extra with: pip install 'copilot[hf]' (it pins torch==2.13.0)"


class HFBackend:
    """A Hugging Face hub id or local folder; weights load on the first call, the id is checked at start-up."""

    def __init__(self, model: str = "meta-llama/Llama-3.1-8B-Instruct", device: str = "auto", dtype: str = "auto",
                 max_new_tokens: int = 1024, temperature: float = 0.2, local_files_only: bool | None = None,
                 seed: int = 0) -> None:
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            raise PermanentLLMError(f"llm backend hf needs transformers and torch: {INSTALL}") from None
        self.model = model
        self.device = device
        self.dtype = dtype
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        self.local_files_only = offline if local_files_only is None else local_files_only
        self.source = self._check_available(model)
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def _check_available(self, model: str) -> str:
        if Path(model).expanduser().is_dir():
            return str(Path(model).expanduser())
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, "config.json")
        if isinstance(cached, str):
            return model
        if self.local_files_only:
            raise PermanentLLMError(f"model '{model}' is not a local folder and not in the Hugging Face cache, and "
                                    "the hub is off (HF_HUB_OFFLINE=1)")
        return model

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            device = self.device
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            dtype = getattr(torch, self.dtype) if self.dtype != "auto" else (
                torch.bfloat16 if device == "cuda" else torch.float32)
            log.info("loading %s on %s (%s)", self.source, device, dtype)
            tokenizer = AutoTokenizer.from_pretrained(self.source, local_files_only=self.local_files_only)
            model = AutoModelForCausalLM.from_pretrained(self.source, dtype=dtype,
                                                         local_files_only=self.local_files_only)
            model = model.to(device)  # type: ignore[arg-type]
            model.eval()
            self._loaded = (tokenizer, model)
        return self._loaded

    def generate(self, request: Request) -> Completion:
        """One generation with the model's chat template."""
        import torch

        tokenizer, model = self._load()
        messages = _flatten_messages(request.messages)
        if request.tools:
            system = tool_instructions(request.tools)
            if messages and messages[0]["role"] == "system":
                messages = [{"role": "system", "content": messages[0]["content"] + "\n\n" + system}, *messages[1:]]
            else:
                messages = [{"role": "system", "content": system}, *messages]
        elif request.schema_ is not None:
            messages = [*messages[:-1], {"role": messages[-1]["role"], "content": messages[-1]["content"]
                                         + "\n\nReply with only one JSON object following this JSON schema:\n"
                                         + json.dumps(request.schema_)}]
        with self._lock:
            inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                   return_dict=True).to(model.device)
            temperature = self.temperature if request.temperature is None else request.temperature
            torch.manual_seed(self.seed)
            with torch.no_grad():
                output = model.generate(**inputs, max_new_tokens=request.max_tokens or self.max_new_tokens,
                                        do_sample=temperature > 0, temperature=temperature or None,
                                        pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        prompt_tokens = int(inputs["input_ids"].shape[1])
        new_tokens = output[0][prompt_tokens:]
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        completion = Completion(text=text, model=self.model,
                                usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=int(new_tokens.shape[0])))
        if request.tools and request.tool_choice != "none":
            completion.tool_calls = _parse_action(text)
        return completion


def _parse_action(text: str) -> list[ToolCall]:
    from copilot.llm.client import extract_json

    try:
        data = json.loads(extract_json(text))
    except json.JSONDecodeError:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
        return []
    arguments = data.get("arguments") if isinstance(data.get("arguments"), dict) else {}
    return [ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=data["tool"], arguments=arguments)]
