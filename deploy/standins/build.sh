#!/bin/sh
# Build the stand-in for the image that docker-compose.yml's `monitoring` profile names
# (prom/prometheus:v3.5.0) from Debian sid's prometheus package, for a machine that reaches
# Debian's mirror but not Docker Hub; it extends shared/docker-standins/build.sh (the project's
# other images, and the debian:sid base this one starts from).
#
#   sh deploy/standins/build.sh [SHARED_STANDINS_DIR]    # default: ../shared/docker-standins
#
# Needs: a running dockerd and the docker client (and, when debian:sid is missing, what the
# shared build.sh needs: debootstrap, root). Its build context is copied to $SCRATCH (/tmp/dock).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
shared="${1:-$here/../../../shared/docker-standins}"
scratch="${SCRATCH:-/tmp/dock}"
tag=prom/prometheus:v3.5.0

if ! docker image inspect debian:sid >/dev/null 2>&1; then
    sh "$shared/build.sh" sid
fi
context="$scratch/standins/prometheus-v3.5.0"
rm -rf "$context"
mkdir -p "$scratch/standins"
cp -r "$here/prometheus-v3.5.0" "$context"
echo "== docker build -t $tag"
start=$(date +%s)
docker build -t "$tag" "$context"
echo "== $tag built in $(($(date +%s) - start)) s, $(docker image inspect --format '{{.Size}}' "$tag") bytes"
