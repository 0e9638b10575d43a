#!/bin/sh
# Ready means the real server answers over TCP (the entrypoint's first, socket-only server,
# the one running the init scripts, does not count) and the init script has run.
pg_isready -q -h 127.0.0.1 -U notes -d notes || exit 1
rows=$(PGPASSWORD=bench-pw psql -h 127.0.0.1 -U notes -d notes -tAc 'SELECT count(*) FROM audit' 2>/dev/null)
[ "$rows" = 1 ]
