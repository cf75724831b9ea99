from llmotel.cli import main

raise SystemExit(main())
