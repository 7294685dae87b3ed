"""`python -m botify serve|load`: the service's own two commands (the container's entry points).
The whole lab's command line is `botify` (lab.cli)."""

import importlib
import sys

COMMANDS = {"serve": "botify.serve", "load": "botify.loader"}
USAGE = "usage: python -m botify {serve,load} [ARGS...]   (the lab's commands: botify --help)"

name = sys.argv[1] if len(sys.argv) > 1 else "--help"
if name in ("-h", "--help", "help"):
    print(USAGE)
    raise SystemExit(0)
if name not in COMMANDS:
    print(f"python -m botify: unknown command {name!r}\n{USAGE}", file=sys.stderr)
    raise SystemExit(2)
raise SystemExit(importlib.import_module(COMMANDS[name]).main(sys.argv[2:]) or 0)
