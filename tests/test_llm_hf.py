"""The transformers backend with a tiny randomly initialised Llama built in the test (no download): chat template,
generation, usage, structured-output instructions, and clear errors for unavailable models."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from copilot.llm.base import Message, PermanentLLMError, Request
from copilot.llm.client import LLM

transformers = pytest.importorskip("transformers")
pytest.importorskip("torch")

CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["<unk>", "<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "{", "}", '"', ":",
             "hello", "world", "json", "label", "reply", "schema", "object", "with", "only", "one", "following", "this"]
    raw = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", pad_token="<pad>",
                                                     bos_token="<s>", eos_token="</s>")
    tokenizer.chat_template = CHAT_TEMPLATE
    config = transformers.LlamaConfig(vocab_size=len(words), hidden_size=16, intermediate_size=32,
                                      num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                      max_position_embeddings=256, pad_token_id=1, bos_token_id=2, eos_token_id=3)
    folder = tmp_path_factory.mktemp("tiny-llama")
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_generation_with_the_chat_template_and_usage(tiny_model_dir):
    from copilot.llm.hf import HFBackend

    backend = HFBackend(model=str(tiny_model_dir), device="cpu", max_new_tokens=5, temperature=0.0)
    result = LLM(backend).complete([Message(role="system", content="hello"), Message(role="user", content="world")])
    assert result.usage.completion_tokens >= 1
    assert result.usage.prompt_tokens == 5  # <|system|> hello <|user|> world <|assistant|>
    assert isinstance(result.text, str)


def test_structured_requests_carry_the_schema_and_malformed_replies_fail_cleanly(tiny_model_dir):
    from copilot.llm.base import MalformedReplyError
    from copilot.llm.hf import HFBackend

    class Label(BaseModel):
        label: str

    backend = HFBackend(model=str(tiny_model_dir), device="cpu", max_new_tokens=3, temperature=0.0)
    seen = []
    original = backend.generate

    def spy(request: Request):
        seen.append(request)
        return original(request)

    backend.generate = spy  # type: ignore[method-assign]
    with pytest.raises(MalformedReplyError, match="no valid Label"):
        LLM(backend, max_format_retries=1).complete([Message(role="user", content="hello")], Label)
    assert seen[0].schema_ is not None and len(seen) == 2


def test_an_unavailable_model_offline_is_a_clear_error(monkeypatch):
    from copilot.llm.hf import HFBackend

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PermanentLLMError, match="not a local folder and not in the Hugging Face cache"):
        HFBackend(model="meta-llama/Llama-3.1-8B-Instruct")
