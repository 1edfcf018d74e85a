#!/usr/bin/env bash
# A throwaway S3-compatible server on loopback, for the tests and for trying `--store s3://`.
# The server is moto in server mode (PyPI `moto[server]`, in its own venv under target/): it
# implements multipart uploads (with S3's 5 MiB part minimum), ranged GETs and ETags as S3
# does, and keeps everything in memory, so stopping it leaves nothing behind.
#
#   eval "$(scripts/s3.sh start)"   # exports FANGYAN_TEST_STORE_URL, AWS_* and S3_WORK
#   scripts/s3.sh stop              # stops the server started from this shell
#
# `start` picks a free port on 127.0.0.1, creates the bucket `fangyan-test`, and prints the
# `export` lines; each test app then works under its own prefix of that bucket.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${FANGYAN_S3_VENV:-$PWD/target/s3-venv}

case "${1:-}" in
  start)
    if ! python3 -c 'import ensurepip' 2>/dev/null; then
      sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
      $sudo apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    fi
    if [ ! -x "$venv/bin/moto_server" ]; then
      python3 -m venv "$venv" >&2
      "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5,<6' >&2
    fi
    work=$(mktemp -d /tmp/fangyan-s3.XXXXXX)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/log" 2>&1 < /dev/null &
    echo $! >"$work/pid"
    # Wait for it, then create the bucket by a plain PUT (moto accepts it unsigned).
    python3 - "$port" <<'PY'
import sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(200):
    try:
        urllib.request.urlopen(base + "/moto-api/", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
urllib.request.urlopen(urllib.request.Request(base + "/fangyan-test", method="PUT"), timeout=5)
PY
    echo "export S3_WORK=$work"
    echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
    echo "export AWS_ACCESS_KEY_ID=test"
    echo "export AWS_SECRET_ACCESS_KEY=test"
    echo "export AWS_REGION=us-east-1"
    echo "export FANGYAN_TEST_STORE_URL=s3://fangyan-test"
    ;;
  stop)
    work=${S3_WORK:?run "eval \"\$(scripts/s3.sh start)\"" first}
    if [ -f "$work/pid" ]; then kill "$(cat "$work/pid")" 2>/dev/null || true; fi
    rm -rf "$work"
    ;;
  *)
    echo "usage: scripts/s3.sh start|stop" >&2
    exit 2
    ;;
esac
