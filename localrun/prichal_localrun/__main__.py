"""``python -m prichal_localrun --help``: run the whole stack on this machine."""

from prichal_localrun.runner import main

raise SystemExit(main())
