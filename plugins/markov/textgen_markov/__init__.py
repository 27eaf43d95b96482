"""textgen's Markov plugin: markovify word and character chains behind the textgen interface."""

from .generator import MarkovGenerator
from .options import MarkovOptions

__all__ = ["MarkovGenerator", "MarkovOptions"]
