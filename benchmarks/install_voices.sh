#!/usr/bin/env bash
# The call corpus's closer-to-human voices (benchmarks/call_audio.py): SVOX Pico
# (libttspico-utils, Debian non-free) and MBROLA's diphone voices (mbrola, Debian contrib and
# non-free). Only `make bench-calls` needs them; nothing in the product or the tests does.
# Debian: adds the contrib and non-free sections of Debian's own archive to apt's sources
# (a file of its own, removed by hand if unwanted). Ubuntu: the same packages are in multiverse.
set -euo pipefail
voices=(mbrola-fr1 mbrola-fr2 mbrola-fr3 mbrola-fr4 mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1)
have() { command -v pico2wave >/dev/null && command -v mbrola >/dev/null && for v in "${voices[@]#mbrola-}"; do [ -d "/usr/share/mbrola/$v" ] || return 1; done; }
have && exit 0
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
. /etc/os-release
if [ "${ID:-}" = debian ]; then
  $SUDO tee /etc/apt/sources.list.d/anonymizer-bench-voices.sources >/dev/null <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${VERSION_CODENAME}
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
elif [ "${ID:-}" = ubuntu ]; then
  $SUDO add-apt-repository -y multiverse
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq libttspico-utils mbrola "${voices[@]}" >/dev/null
have || { echo "Pico or an MBROLA voice is still missing" >&2; exit 1; }
