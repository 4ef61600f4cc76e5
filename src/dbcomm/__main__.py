from dbcomm.cli import main

raise SystemExit(main())
