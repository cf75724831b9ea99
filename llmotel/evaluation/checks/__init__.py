"""The offline checks: no model call, no network. ``language`` (language mismatch), ``sentiment``,
``failure_to_answer`` and ``toxicity`` (the pre-check, with its matcher in ``profanity`` and llmotel's own lists in
``toxicity_lexicon``). Their phrase lists and word lists are package data under ``data/``."""
