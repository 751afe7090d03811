"""Command line: ``python -m analytics {import,demo,info,...} [--db PATH]``.

Exit codes scripts can rely on: 0 success, 1 other user error, 2 bad file or
mapping, 3 database locked by another process, 4 unreadable database, 5 permission
denied, 6 disk full, 7 analytics engine (ESC_BACKEND) unavailable, 130 interrupted.
Errors are printed as one sentence, never a stack trace.
"""

from analytics.cli import main

raise SystemExit(main())
