"""Command line: ``python -m analytics {import,demo,info,...} [--db PATH]``.

Exit codes scripts can rely on: 0 success, 1 other user error, 2 bad file or
mapping, 3 database locked by another process, 4 unreadable database,
130 interrupted. Errors are printed as one sentence, never a stack trace.
"""

from analytics.cli import main

raise SystemExit(main())
