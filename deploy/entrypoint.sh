#!/bin/sh
# The container's entry point: `botify serve "$@"` with this replica's own log folder.
#
# Replicas share one log volume at $BOTIFY_LOG_DIR (/app/log); each writes its events under a
# subfolder named after its hostname (Docker sets HOSTNAME to the container's short id), so
# `docker cp <container>:/app/log/<hostname>` collects exactly one replica (deploy/collect_logs.sh).
# Redis is never embedded in a container: BOTIFY_REDIS_URL must name the Redis to use.
set -eu

case "${BOTIFY_REDIS_URL:-}" in
    redis://* | rediss://* | unix://* | redis+cluster://*) ;;
    *)
        echo "botify-entrypoint: set BOTIFY_REDIS_URL to the Redis to use (redis://:PASSWORD@HOST:6379/0 or redis+cluster://:PASSWORD@HOST:6379,HOST:6379);" \
            "a container never starts an embedded Redis" >&2
        exit 64
        ;;
esac

for argument in "$@"; do
    case "$argument" in
        --e*)
            # argparse accepts any unambiguous prefix of --embedded-redis.
            case "--embedded-redis" in
                "$argument"*)
                    echo "botify-entrypoint: $argument is refused in a container; Redis is" \
                        "BOTIFY_REDIS_URL" >&2
                    exit 64
                    ;;
            esac
            ;;
    esac
done

replica="${HOSTNAME:-$(hostname)}"
export BOTIFY_LOG_DIR="${BOTIFY_LOG_DIR:-/app/log}/${replica}"
exec botify serve "$@"
