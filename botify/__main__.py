from botify.cli import main

raise SystemExit(main())
