#!/bin/bash
# Provision a reelstack AMI for one role (run by Packer as root; see reelstack.pkr.hcl):
# Debian packages, Python 3.11 with the reelstack wheel in /opt/reelstack, a service user,
# and the role's systemd units. The units are not enabled here: the instance's user data
# writes /etc/reelstack/<role>.env (the settings the component computes) and enables them.
set -euo pipefail

role="${REELSTACK_ROLE:?REELSTACK_ROLE is not set (backend, transcoder or progress)}"
build_dir="${REELSTACK_BUILD_DIR:?REELSTACK_BUILD_DIR is not set}"
read -r -a extra_packages <<<"${REELSTACK_EXTRA_PACKAGES:-}"

case "$role" in
  backend | transcoder | progress) ;;
  *)
    echo "provision.sh: unknown role '$role'" >&2
    exit 2
    ;;
esac
shopt -s nullglob
wheels=("$build_dir"/reelstack-*.whl)
units=("$build_dir"/units/*.service)
if [ "${#wheels[@]}" -ne 1 ] || [ "${#units[@]}" -eq 0 ]; then
  echo "provision.sh: expected one reelstack wheel and the role's units in $build_dir" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the image's own config files when a package ships a new one: no prompts.
apt_options=(-y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get update -qq
apt-get upgrade "${apt_options[@]}"
apt-get install "${apt_options[@]}" --no-install-recommends \
  ca-certificates python3.11 python3.11-venv "${extra_packages[@]}"

# The services run as this user; it also owns the env files' group.
if ! getent passwd reelstack >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/reelstack --no-create-home \
    --shell /usr/sbin/nologin reelstack
fi
install -d -m 0750 -o root -g reelstack /etc/reelstack
install -d -m 0750 -o reelstack -g reelstack /var/lib/reelstack /var/lib/reelstack/work

python3.11 -m venv /opt/reelstack
/opt/reelstack/bin/pip install --quiet --no-cache-dir --upgrade pip
/opt/reelstack/bin/pip install --quiet --no-cache-dir -c "$build_dir/constraints.txt" "${wheels[0]}"
/opt/reelstack/bin/reelstack --help >/dev/null

install -m 0644 -o root -g root "${units[@]}" /etc/systemd/system/
systemctl daemon-reload

apt-get clean
rm -rf /var/lib/apt/lists/* "$build_dir"
