"""``python -m prichal.localrun --help``: run the whole stack on this machine."""

from prichal.localrun.runner import main

raise SystemExit(main())
