#!/usr/bin/env bash
# Makes sure this Debian host has what the platform and its tests need, and that RabbitMQ (with its
# management plugin) and PostgreSQL are running. Safe to run again: it only does what is missing.
# Used by .ci/run and by scripts/up.sh (the README's first command).
set -uo pipefail

log() { echo "[host] $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else log "need root for: $*"; return 1; fi; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 "${3:-120}"); do port_open "$1" && return 0; sleep 0.5; done; log "$2 did not open port $1"; return 1; }

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v git >/dev/null || missing+=(git)
command -v rabbitmq-server >/dev/null || port_open 5672 || missing+=(rabbitmq-server)
command -v pg_ctlcluster >/dev/null || port_open 5432 || missing+=(postgresql)
command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
# Outside agents run in tmux in the jail; the SSH tests (e2e/ssh-agents.e2e.test.ts) drive the gateway's
# SSH server with Debian's ssh, sftp and scp, and make their keys with ssh-keygen.
command -v tmux >/dev/null || missing+=(tmux)
# A jail's terminal is held by util-linux `script`, so that it outlives the shell service.
command -v script >/dev/null || missing+=(bsdutils)
for c in ssh sftp scp ssh-keygen; do command -v "$c" >/dev/null || { missing+=(openssh-client); break; }; done
# The egress proxy joins a jail's network namespace with nsenter; the network tests make test hosts with
# ip netns and veth, and use curl and openssl inside jails.
command -v nsenter >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
command -v curl >/dev/null || missing+=(curl)
command -v openssl >/dev/null || missing+=(openssl)
# The dashboard's browser tests (e2e/dashboard.e2e.test.ts) drive Debian's Chromium with playwright-core.
command -v chromium >/dev/null || missing+=(chromium)
if [ "${CODEAGENT_WITH_DOCKER:-1}" = 1 ]; then
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v busybox >/dev/null || missing+=(busybox-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  as_root apt-get update -qq || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { log "apt-get install failed"; exit 1; }
fi

if ! port_open 5672; then
  log "starting RabbitMQ"
  as_root rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_port 5672 RabbitMQ 240 || exit 1
fi
if ! port_open 15672; then
  log "enabling the RabbitMQ management plugin (tests create a vhost each through it)"
  as_root rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
  wait_port 15672 "RabbitMQ management" 120 || exit 1
fi
if ! port_open 5432; then
  log "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  wait_port 5432 PostgreSQL 120 || exit 1
fi
log "RabbitMQ on 127.0.0.1:5672, PostgreSQL on 127.0.0.1:5432, bubblewrap $(bwrap --version 2>/dev/null | cut -d' ' -f2)"
