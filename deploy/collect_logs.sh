#!/bin/sh
# Copy the recommender replicas' event logs out of Docker into one local folder, one subfolder
# per replica, ready for the A/B report:
#
#   deploy/collect_logs.sh [-p PROJECT] [OUT]
#   botify ab OUT --experiment NAME
#
# The replicas share the `logs` volume at /app/log, each writing under /app/log/<its hostname>
# (deploy/entrypoint.sh). One `docker cp` of /app/log from any replica (running or stopped)
# therefore copies every replica's folder, also those of replicas removed since (scaled down or
# recreated): no traffic is left out of the analysis. The folders of the project's current
# replicas are then renamed after their containers (botify-recommender-1, ...); a folder still
# named by a bare hostname belongs to a replica that no longer exists. With no replica container
# left (after `docker compose down`), a stopped helper container on the volume is used.
#
# OUT defaults to log/docker-<UTC time> and must not hold files yet. For a clean cut, stop the
# replicas first (`docker compose stop nginx recommender`: a graceful stop writes every queued
# event); copying from running replicas works too, and at most the line being written is cut
# (botify ab skips it).
set -eu

project="${COMPOSE_PROJECT_NAME:-botify}"
service=recommender

usage() {
    echo "usage: $0 [-p PROJECT] [OUT]   (PROJECT: the compose project, default $project)" >&2
    exit 2
}

while getopts "p:h" option; do
    case "$option" in
        p) project="$OPTARG" ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
out="${1:-log/docker-$(date -u +%Y%m%dT%H%M%SZ)}"

if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
    echo "$0: $out is not empty; collect into a new folder" >&2
    exit 1
fi

containers=$(docker ps --all --quiet \
    --filter "label=com.docker.compose.project=$project" \
    --filter "label=com.docker.compose.service=$service")

helper=""
cleanup() {
    if [ -n "$helper" ]; then
        docker rm "$helper" >/dev/null || true
    fi
}
trap cleanup EXIT

if [ -n "$containers" ]; then
    source=$(echo "$containers" | head -n 1)
else
    volume="${project}_logs"
    if ! docker volume inspect "$volume" >/dev/null 2>&1; then
        echo "$0: no '$service' container and no volume '$volume' in compose project" \
            "'$project'; pass -p PROJECT if the project has another name" >&2
        exit 1
    fi
    # Never started: it only gives docker cp a way into the volume.
    helper=$(docker create --volume "$volume:/app/log" --entrypoint true "${COLLECT_IMAGE:-botify:latest}")
    source="$helper"
fi

mkdir -p "$out"
# `SRC/.` copies the folder's contents into $out.
docker cp "$source:/app/log/." "$out"

for container in $containers; do
    name=$(docker inspect --format '{{.Name}}' "$container")
    name="${name#/}"
    hostname=$(docker inspect --format '{{.Config.Hostname}}' "$container")
    if [ -d "$out/$hostname" ]; then
        mv "$out/$hostname" "$out/$name"
    else
        echo "$name: no log folder yet (no request served)"
    fi
done

replicas=0
for folder in "$out"/*/; do
    [ -d "$folder" ] || continue
    folder="${folder%/}"
    lines=$(cat "$folder"/events.jsonl* 2>/dev/null | wc -l | tr -d ' ')
    echo "$(basename "$folder"): $lines events"
    replicas=$((replicas + 1))
done
if [ "$replicas" -eq 0 ]; then
    echo "$0: the log volume holds no replica folder yet" >&2
    exit 1
fi
echo "collected $replicas replica folders into $out; next: botify ab $out --experiment NAME"
