#!/usr/bin/env bash
# Builds a container image of a static binary without a registry: the binary alone in
# a tarball, imported by the engine with its entrypoint and default arguments.
# Usage: image.sh ENGINE BINARY IMAGE:TAG [ARG...]   (ENGINE: podman or docker)
#   image.sh podman build/rel/examples/static/httpapp localhost/httpapp:v2 \
#       --listen 0.0.0.0:80 --version v2
set -euo pipefail
engine=${1:?usage: image.sh ENGINE BINARY IMAGE:TAG [ARG...]}
binary=${2:?binary}
image=${3:?image}
shift 3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
name=$(basename "$binary")
cp "$binary" "$dir/$name"
# CMD as a JSON array of the arguments (each one escaped by jq).
cmd=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
[ $# -gt 0 ] || cmd='[]'
tar -C "$dir" -c "$name" |
    "$engine" import --change "ENTRYPOINT [\"/$name\"]" --change "CMD $cmd" - "$image" >/dev/null
