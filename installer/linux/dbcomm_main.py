"""Start dbcomm from the Linux bundle: the same command line as ``python -m dbcomm``."""

from dbcomm.cli import main

raise SystemExit(main())
