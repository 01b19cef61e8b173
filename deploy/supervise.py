"""Run every Procfile process under honcho (what `make run` starts); Ctrl-C stops them all."""

import sys

import honcho.manager
from honcho.command import main

# A Celery worker's warm shutdown finishes the tasks it holds (~7 s when idle with the SQL
# broker); honcho's own 5 s would SIGKILL it half-way, leaving messages for redelivery.
honcho.manager.KILL_WAIT = 30

if __name__ == "__main__":
    main(["start", "--no-colour", "-f", "Procfile", *sys.argv[1:]])
