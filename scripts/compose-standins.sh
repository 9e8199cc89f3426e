#!/usr/bin/env bash
# Stand-ins for the images compose.yaml's cluster profile pulls (postgres, redis, rabbitmq, nginx), for a machine that
# cannot pull them: each is Debian bookworm's own package on scripts/build-image.sh's debootstrapped base, tagged under
# the name compose.yaml uses, with the few environment variables compose.yaml gives them honoured. They are for trying
# the compose file's wiring here, not for running it: Debian's versions are older (PostgreSQL 15, Redis 7.0,
# RabbitMQ 3.10, nginx 1.22) than the images named.
#
# Usage (as root, after scripts/build-image.sh): scripts/compose-standins.sh, then
#   cp .env.example .env (fill in the secrets) && docker-compose --profile cluster up -d
set -euo pipefail

cd "$(dirname "$0")/.."
image_of() { sed -n "s/^    image: \($1:.*\)$/\1/p" compose.yaml; }
BASE=cameo-standin/debian:bookworm-slim
docker image inspect "$BASE" >/dev/null 2>&1 || { echo "No $BASE: run scripts/build-image.sh first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# build <image> <packages> <Dockerfile lines after the install> [<entrypoint script>]
build() {
	local image=$1 packages=$2 rest=$3 entrypoint=${4:-}
	mkdir -p "$work/$image"
	if [[ -n $entrypoint ]]; then
		printf '%s\n' "$entrypoint" >"$work/$image/entrypoint.sh"
		rest=$'COPY entrypoint.sh /usr/local/bin/entrypoint.sh\nRUN chmod +x /usr/local/bin/entrypoint.sh\n'$rest
	fi
	printf 'FROM %s\nRUN apt-get update && apt-get install -y --no-install-recommends %s && rm -rf /var/lib/apt/lists/*\n%s\n' \
		"$BASE" "$packages" "$rest" >"$work/$image/Dockerfile"
	echo "== $image"
	docker build -q -t "$image" "$work/$image"
}

# The official image's contract: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB on the first start; PGDATA under
# /var/lib/postgresql/18/docker (where 18's image keeps it); password logins from other containers.
build "$(image_of postgres)" "postgresql-15" '
ENV PGDATA=/var/lib/postgresql/18/docker PATH=/usr/lib/postgresql/15/bin:$PATH
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]' '#!/bin/sh
set -eu
mkdir -p "$PGDATA" /var/run/postgresql && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	printf "%s\n" "$POSTGRES_PASSWORD" >/tmp/pw && chown postgres /tmp/pw
	runuser -u postgres -- initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/pw -A scram-sha-256 --encoding=UTF8 --locale=C.UTF-8
	rm /tmp/pw
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	runuser -u postgres -- pg_ctl -D "$PGDATA" -o "-c listen_addresses=" -w start
	PGPASSWORD=$POSTGRES_PASSWORD psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
	runuser -u postgres -- pg_ctl -D "$PGDATA" -m fast -w stop
fi
# setpriv, not runuser: PostgreSQL itself is PID 1 and gets the SIGTERM of docker stop.
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" -c listen_addresses="*"'

# The official image turns protected mode off (other containers connect), whatever command compose gives it.
build "$(image_of redis)" "redis-server" '
RUN mkdir /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["redis-server"]' '#!/bin/sh
exec "$@" --protected-mode no'

# RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS, as the official image reads them.
build "$(image_of rabbitmq)" "rabbitmq-server" '
EXPOSE 5672
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]' '#!/bin/sh
set -eu
printf "default_user = %s\ndefault_pass = %s\nloopback_users = none\n" "$RABBITMQ_DEFAULT_USER" "$RABBITMQ_DEFAULT_PASS" >/etc/rabbitmq/rabbitmq.conf
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups env HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server'

build "$(image_of nginx)" "nginx-light" '
RUN rm -f /etc/nginx/sites-enabled/default
CMD ["nginx", "-g", "daemon off;"]'
