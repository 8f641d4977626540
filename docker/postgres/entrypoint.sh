#!/bin/sh
# First start: initdb into $PGDATA, then create the application role and its database in
# single-user mode (nothing listens yet, so the health check cannot pass early). The password
# goes through files and stdin only: it is never a command-line argument nor printed.
set -eu
: "${POSTGRES_USER:=recsys}" "${POSTGRES_DB:=$POSTGRES_USER}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres-entrypoint: set POSTGRES_PASSWORD for the first start" >&2
        exit 1
    fi
    case "$POSTGRES_USER$POSTGRES_DB" in
        *[!a-z0-9_]*) echo "postgres-entrypoint: POSTGRES_USER and POSTGRES_DB:" \
                           "lower-case letters, digits and _ only" >&2; exit 1 ;;
    esac
    # The superuser `postgres` logs in over the socket only, as the OS user of the same name.
    initdb --username=postgres --auth-local=peer --auth-host=scram-sha-256 \
           --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    quoted=$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")
    printf "CREATE ROLE %s LOGIN PASSWORD '%s'\nCREATE DATABASE %s OWNER %s\n" \
        "$POSTGRES_USER" "$quoted" "$POSTGRES_DB" "$POSTGRES_USER" |
        postgres --single -D "$PGDATA" -c log_statement=none -c log_min_error_statement=panic \
             -c exit_on_error=true postgres \
        >/dev/null
    echo "postgres-entrypoint: created the cluster, role $POSTGRES_USER and database $POSTGRES_DB"
fi
exec "$@"
