"""textgen's `openai` plugin: a model behind any OpenAI-compatible HTTP server, as a textgen generator."""

from .generator import API_KEY_ENV, MAX_RETRIES_ENV, TIMEOUT_ENV, OpenAIGenerator

__all__ = ["API_KEY_ENV", "MAX_RETRIES_ENV", "TIMEOUT_ENV", "OpenAIGenerator"]
