"""The data a model learns from and is judged on: corpora, tokenizers and the held-out slice.

* `corpora`: read text from a file, a folder, a CSV column or a named corpus, normalise it, split it;
* `tokenize`: reversible character and word tokenizers that charge unknown characters honestly;
* `heldout`: the fixed slice of the validation split that training estimates score.
"""
