#!/usr/bin/env bash
# Installs the Debian 12 packages cairn's build and tests need (run as root; idempotent).
#   build: gcc/g++/make (addon, static helpers), python3 (node-gyp), libc6-dev (static libc),
#          libzstd-dev zlib1g-dev (page data compression: zstd, gzip)
#   tests: procps (ps), util-linux (runuser); the runtimes test/e2e/runtimes.test.ts resumes:
#          python3-numpy, perl, openjdk-17-jdk-headless (java, javac), golang-go;
#          test/e2e/terminal.test.ts: tmux (the terminals), procps (top); the make -j2 test: make, gcc;
#          test/e2e/redis.test.ts: redis-server
#          the multi-host test bed (test/testbed): openssh-server (sshd per node), openssh-client,
#          iproute2; MPI (later tests): openmpi-bin libopenmpi-dev mpich libmpich-dev
set -euo pipefail
[[ $(id -u) -eq 0 ]] || { echo "setup-debian.sh: run as root (it installs packages)" >&2; exit 1; }
pkgs=(build-essential g++ make python3 libc6-dev libzstd-dev zlib1g-dev procps util-linux
      python3-numpy perl openjdk-17-jdk-headless golang-go tmux redis-server
      openssh-server openssh-client iproute2 openmpi-bin libopenmpi-dev mpich libmpich-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-debian.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # slim images leave out man pages; the JDK's postinst fails without this directory
  mkdir -p /usr/share/man/man1
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v node >/dev/null || { echo "setup-debian.sh: node (>= 20) is required: apt-get install nodejs npm" >&2; exit 1; }
echo "setup-debian.sh: build and test packages present"
