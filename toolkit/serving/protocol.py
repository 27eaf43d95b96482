"""The OpenAI request bodies `textgen serve` accepts, its limits, and its errors: pydantic only, no web framework.

A request is validated in strict mode (``"temperature": "hot"`` or ``"n": 1.5`` is refused,
not coerced) against models that reuse `SamplingOptions`' fields, so a sampling value is
checked by the same rule as ``textgen generate --temperature``. Fields OpenAI defines
but the toolkit cannot honour are refused when set to anything but their neutral value;
fields nobody here knows (``user``, ``stream_options``) are ignored, as most OpenAI-
compatible servers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..generation.sampling import SamplingOptions
from ..options import MAX_SEED

#: What ``"max_tokens"`` is when a request leaves it out: the same as ``textgen generate --max-tokens``.
DEFAULT_MAX_TOKENS = 200


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; beyond it the answer is a 400 naming the parameter."""

    #: Samples per request (``n`` times the number of prompts).
    max_n: int = 16
    #: New tokens per sample (``max_tokens``, ``max_completion_tokens``).
    max_tokens: int = 4096
    #: Characters of prompt text per request (all prompts, or all chat messages, together).
    max_prompt_chars: int = 1_000_000

    @property
    def max_body_bytes(self) -> int:
        """The largest request body read at all: every prompt character escaped as ``\\uXXXX``, plus 1 MiB."""
        return 6 * self.max_prompt_chars + 2**20


#: The limits of a server started without ``--max-prompt-chars``.
LIMITS = Limits()


class RequestError(Exception):
    """A request the server refuses: an HTTP status and OpenAI's error object, naming the parameter."""

    def __init__(self, message: str, param: str | None = None, status: int = 400,
                 kind: str = "invalid_request_error", code: str | None = None) -> None:
        super().__init__(message)
        self.param, self.status, self.kind, self.code = param, status, kind, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": self.kind, "param": self.param, "code": self.code}}


class _Request(SamplingOptions):
    """What completions and chat share: the model's name, the sampling options (the toolkit's names), n, stop, seed."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, protected_namespaces=(),
                              allow_inf_nan=False)

    model: str
    n: int = Field(1, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    stream: bool = False
    max_chars: int | None = Field(None, ge=0, description="Stop each sample after this many characters.")
    # OpenAI's fields the toolkit cannot honour: accepted only at their neutral values (see `UNSUPPORTED`)
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None

    #: OpenAI's fields of this request refused unless neutral (see `UNSUPPORTED`).
    unsupported: ClassVar[tuple[str, ...]] = ("frequency_penalty", "presence_penalty", "logit_bias")

    def sampling(self) -> dict[str, Any]:
        """The sampling options the request set, as `Generator.stream_batch` takes them."""
        return {name: getattr(self, name) for name in SamplingOptions.model_fields if name in self.model_fields_set}

    def stops(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])


class CompletionRequest(_Request):
    """``POST /v1/completions``."""

    prompt: str | list[str] = ""
    max_tokens: int | None = Field(None, ge=0)
    logprobs: int | None = Field(None, ge=0, le=5)
    echo: bool = False
    best_of: int | None = None
    suffix: str | None = None

    unsupported: ClassVar[tuple[str, ...]] = (*_Request.unsupported, "best_of", "suffix")

    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)


class TextPart(BaseModel):
    """One text part of a message's content given as a list (OpenAI's ``{"type": "text", "text": ...}``)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    role: str
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(_Request):
    """``POST /v1/chat/completions``."""

    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=0)
    max_completion_tokens: int | None = Field(None, ge=0)
    logprobs: bool | None = None

    unsupported: ClassVar[tuple[str, ...]] = (*_Request.unsupported, "logprobs")


#: Fields refused unless neutral: name -> (the neutral values, why).
UNSUPPORTED = {
    "frequency_penalty": ((None, 0, 0.0), "use repetition_penalty, the toolkit's penalty"),
    "presence_penalty": ((None, 0, 0.0), "use repetition_penalty, the toolkit's penalty"),
    "logit_bias": ((None, {}), "the toolkit does not bias tokens"),
    "best_of": ((None, 1), "ask for n samples instead"),
    "suffix": ((None, ""), "the toolkit's models continue text, they do not fill in"),
    "logprobs": ((None, False), "chat completions give no log-probabilities; use /v1/completions"),
}


def parse(kind: type[_Request], body: object, limits: Limits) -> Any:
    """Validate a decoded JSON body; raise `RequestError` naming the first bad parameter."""
    if not isinstance(body, dict):
        raise RequestError(f"the request body must be a JSON object, got {type(body).__name__}")
    try:
        request = kind.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])  # prompt.list[str].0: the field, then where inside it
        given = f", got {err['input']!r}" if err["type"] != "missing" else ""
        if len(given) > 80:
            given = given[:77] + "..."
        raise RequestError(f"{where}: {err['msg'].removeprefix('Value error, ')}{given}",
                           param=str(err["loc"][0]) if err["loc"] else None) from None
    for name in request.unsupported:
        neutral, why = UNSUPPORTED[name]
        value = getattr(request, name)
        if value not in neutral and not (name == "best_of" and value == request.n):
            raise RequestError(f"{name}={value!r} is not supported: {why}", param=name)
    _check_limits(request, limits)
    return request


def prompt_chars(request: _Request) -> int:
    if isinstance(request, CompletionRequest):
        return sum(len(p) for p in request.prompts())
    return sum(len(m.text()) for m in request.messages)


def requested_tokens(request: _Request) -> int:
    """``max_tokens`` (chat: or ``max_completion_tokens``), or `DEFAULT_MAX_TOKENS`."""
    given = getattr(request, "max_tokens", None)
    if given is None:
        given = getattr(request, "max_completion_tokens", None)
    return DEFAULT_MAX_TOKENS if given is None else given


def _check_limits(request: _Request, limits: Limits) -> None:
    samples = request.n * (len(request.prompts()) if isinstance(request, CompletionRequest) else 1)
    if isinstance(request, CompletionRequest) and not request.prompts():
        raise RequestError("prompt: give at least one prompt", param="prompt")
    if samples > limits.max_n:
        raise RequestError(f"n: at most {limits.max_n} samples per request (n times the number of prompts), "
                           f"asked for {samples}", param="n")
    tokens = requested_tokens(request)
    if tokens > limits.max_tokens:
        param = "max_completion_tokens" if getattr(request, "max_tokens", 0) is None else "max_tokens"
        raise RequestError(f"{param}: at most {limits.max_tokens} tokens per sample, asked for {tokens}",
                           param=param)
    chars = prompt_chars(request)
    if chars > limits.max_prompt_chars:
        param = "prompt" if isinstance(request, CompletionRequest) else "messages"
        raise RequestError(f"{param}: at most {limits.max_prompt_chars:,} characters of prompt per request "
                           f"(textgen serve --max-prompt-chars), got {chars:,}", param=param)
    if any(not s for s in request.stops()):
        raise RequestError("stop: stop strings must not be empty", param="stop")


def chat_prompt(messages: list[Message]) -> str:
    """The plain chat template for models that have no chat format of their own.

    Each message becomes ``ROLE: CONTENT`` and a newline, and the prompt ends with
    ``assistant:`` so the model writes the assistant's turn. With the messages
    ``[{"role": "user", "content": "Hi"}]`` the model continues ``"user: Hi\\nassistant:"``.
    """
    return "".join(f"{m.role}: {m.text()}\n" for m in messages) + "assistant:"
