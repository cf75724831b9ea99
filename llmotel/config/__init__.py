"""llmotel's configuration: the option groups, the settings table, the flat :class:`Settings` and ``resolve()``.

- :mod:`~llmotel.config.options`: the option groups ``enable()`` takes (``ExportOptions``, ``ContentOptions``,
  ``EvaluationOptions``, ``PiiOptions``, ``JudgeOptions``);
- :mod:`~llmotel.config.table`: every setting with its environment variables, parser, default and meaning;
- :mod:`~llmotel.config.validation`: the shared parsers;
- :mod:`~llmotel.config.settings`: :class:`Settings` and :func:`resolve` (arguments > ``LLMOTEL_*`` >
  ``OTEL_*`` > defaults).
"""

from llmotel.config.choices import (
    BUILTIN_EVALUATORS,
    COMPAT_MODES,
    COMPRESSIONS,
    EVALUATION_PLACES,
    EVALUATION_SINKS,
    EXPORTERS,
    INSTRUMENTATIONS,
    JUDGE_PROVIDERS,
    PII_NER_ENTITIES,
    PII_OPERATORS,
    PII_PATTERN_ENTITIES,
    PROTOCOLS,
)
from llmotel.config.options import (
    GROUPS,
    ContentOptions,
    EvaluationOptions,
    ExportOptions,
    JudgeOptions,
    OptionGroup,
    PiiOptions,
)
from llmotel.config.settings import Settings, from_env, resolve
from llmotel.config.spec import Setting, env_name
from llmotel.config.validation import parse_bool, parse_headers, parse_int, validate_endpoint

__all__ = [
    "BUILTIN_EVALUATORS",
    "COMPAT_MODES",
    "COMPRESSIONS",
    "EVALUATION_PLACES",
    "EVALUATION_SINKS",
    "EXPORTERS",
    "GROUPS",
    "INSTRUMENTATIONS",
    "JUDGE_PROVIDERS",
    "PII_NER_ENTITIES",
    "PII_OPERATORS",
    "PII_PATTERN_ENTITIES",
    "PROTOCOLS",
    "ContentOptions",
    "EvaluationOptions",
    "ExportOptions",
    "JudgeOptions",
    "OptionGroup",
    "PiiOptions",
    "Setting",
    "Settings",
    "env_name",
    "from_env",
    "parse_bool",
    "parse_headers",
    "parse_int",
    "resolve",
    "validate_endpoint",
]
