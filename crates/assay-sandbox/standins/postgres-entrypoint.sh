#!/bin/sh
# assay's stand-in for the official postgres image's entrypoint (written for assay; it honours
# the same contract: POSTGRES_PASSWORD / POSTGRES_USER / POSTGRES_DB and their *_FILE variants,
# POSTGRES_HOST_AUTH_METHOD, POSTGRES_INITDB_ARGS, PGDATA, /docker-entrypoint-initdb.d).
set -eu

say() { printf '%s\n' "$*"; }
die() { printf '%s\n' "$@" >&2; exit 1; }

# load_var NAME [DEFAULT]: NAME may instead come from the file named by NAME_FILE.
load_var() {
	name=$1
	default=${2-}
	eval "value=\${$name-}"
	eval "file=\${${name}_FILE-}"
	if [ -n "$value" ] && [ -n "$file" ]; then
		die "error: both $name and ${name}_FILE are set (but are exclusive)"
	fi
	if [ -n "$file" ]; then
		[ -r "$file" ] || die "error: ${name}_FILE=$file is not a readable file"
		value=$(cat "$file")
	fi
	[ -n "$value" ] || value=$default
	export "$name=$value"
	unset "${name}_FILE"
}

# A first argument that looks like an option is an option for postgres.
case "${1-}" in
	-*) set -- postgres "$@" ;;
	'') set -- postgres ;;
esac

if [ "$1" != postgres ]; then
	exec "$@"
fi

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

if [ "$(id -u)" = 0 ]; then
	# As root: prepare the directories, then run this script again as postgres.
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA" 2>/dev/null || true
	if [ "$(stat -c %u "$PGDATA")" != "$(id -u postgres)" ]; then
		chown -R postgres:postgres "$PGDATA"
	fi
	chown postgres:postgres /var/run/postgresql
	chmod 3777 /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

load_var POSTGRES_USER postgres
load_var POSTGRES_PASSWORD
load_var POSTGRES_DB "$POSTGRES_USER"
load_var POSTGRES_INITDB_ARGS
AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$AUTH_METHOD" != trust ]; then
		die "Error: Database is uninitialized and superuser password is not specified." \
			"       You must specify POSTGRES_PASSWORD to a non-empty value for the" \
			"       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\"." \
			"" \
			"       You may also use \"POSTGRES_HOST_AUTH_METHOD=trust\" to allow all" \
			"       connections without a password. This is *not* recommended."
	fi
	if [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
		die "error: $PGDATA is not empty and holds no database (no PG_VERSION);" \
			"       point PGDATA at a subdirectory of the mount, e.g. $PGDATA/pgdata"
	fi

	say "initializing database in $PGDATA for user $POSTGRES_USER"
	# Without TZ, initdb finds the system time zone by comparing every file under
	# /usr/share/zoneinfo with the (absent) /etc/localtime, ~0.8 s here, to arrive at Etc/UTC
	# anyway. Saying so up front gives the same postgresql.conf; a TZ the candidate set wins.
	tz_set_here=
	if [ -z "${TZ-}" ]; then
		TZ=Etc/UTC tz_set_here=1
		export TZ
	fi
	# POSTGRES_INITDB_ARGS is unquoted on purpose: it is a list of words.
	if [ -n "$POSTGRES_PASSWORD" ]; then
		printf '%s\n' "$POSTGRES_PASSWORD" |
			initdb --username="$POSTGRES_USER" --pwfile=/dev/stdin --auth-local=trust --auth-host="$AUTH_METHOD" $POSTGRES_INITDB_ARGS
	else
		initdb --username="$POSTGRES_USER" --auth-local=trust --auth-host="$AUTH_METHOD" $POSTGRES_INITDB_ARGS
	fi

	[ -z "$tz_set_here" ] || unset TZ

	{
		printf '\n# added by the assay postgres stand-in\n'
		printf "listen_addresses = '*'\n"
	} >>"$PGDATA/postgresql.conf"
	printf '\nhost all all all %s\n' "$AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

	# A private server on the unix socket only, for the one-time setup.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start

	psql_setup() {
		psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" "$@"
	}
	if [ "$POSTGRES_DB" != postgres ]; then
		exists=$(psql_setup --dbname postgres --tuples-only --no-align --set db="$POSTGRES_DB" <<-'SQL'
			SELECT 1 FROM pg_database WHERE datname = :'db';
		SQL
		)
		if [ -z "$exists" ]; then
			psql_setup --dbname postgres --set db="$POSTGRES_DB" <<-'SQL'
				CREATE DATABASE :"db";
			SQL
		fi
	fi

	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					say "running $f"
					"$f"
				else
					say "sourcing $f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)
				say "running $f"
				psql_setup --dbname "$POSTGRES_DB" -f "$f"
				;;
			*.sql.gz)
				say "running $f"
				gzip -dc "$f" | psql_setup --dbname "$POSTGRES_DB"
				;;
			*) say "ignoring $f" ;;
		esac
	done

	pg_ctl -D "$PGDATA" -m fast -w stop
	say "PostgreSQL init process complete; ready for start up."
else
	say "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi

# postgres becomes PID 1: it gets the stop signal itself (SIGINT = fast shutdown).
exec "$@"
