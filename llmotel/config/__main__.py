"""``python -m llmotel.config --markdown`` prints the README's settings tables; ``--write README.md`` updates them."""

import sys

from llmotel.config.table import main

raise SystemExit(main(sys.argv[1:]))
