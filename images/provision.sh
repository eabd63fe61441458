#!/bin/bash
# Provision a reelstack AMI for one role (run by Packer as root; see reelstack.pkr.hcl):
# Debian packages, Python 3.11 with the reelstack wheel in /opt/reelstack, a service user,
# the role's systemd units and their log directory, the CloudWatch agent and SSM Agent.
# The units and the CloudWatch agent are not started here: the instance's user data writes
# /etc/reelstack/<role>.env and the agent's configuration (what the component computes), then
# starts both. SSM Agent runs from boot, so Session Manager replaces SSH.
set -euo pipefail

role="${REELSTACK_ROLE:?REELSTACK_ROLE is not set (backend, transcoder or progress)}"
build_dir="${REELSTACK_BUILD_DIR:?REELSTACK_BUILD_DIR is not set}"
region="${REELSTACK_REGION:?REELSTACK_REGION is not set (the region the image is built in)}"
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
  ca-certificates curl logrotate python3.11 python3.11-venv "${extra_packages[@]}"

# AWS's agents, from the build region's own S3 download buckets (docs/platform-teams.md cites
# AWS's download pages). AWS publishes its arm64 CloudWatch agent .deb under ubuntu/ (there is
# no debian/arm64 build); it is a static binary that installs on Debian as on Ubuntu.
agents="$(mktemp -d)"
download() {
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 3 -o "$1" "$2"
}
download "$agents/amazon-cloudwatch-agent.deb" \
  "https://amazoncloudwatch-agent-$region.s3.$region.amazonaws.com/ubuntu/arm64/latest/amazon-cloudwatch-agent.deb"
download "$agents/amazon-ssm-agent.deb" \
  "https://s3.$region.amazonaws.com/amazon-ssm-$region/latest/debian_arm64/amazon-ssm-agent.deb"
dpkg -i -E "$agents/amazon-cloudwatch-agent.deb" "$agents/amazon-ssm-agent.deb"
systemctl enable amazon-ssm-agent.service
rm -rf "$agents"

# The services run as this user; it also owns the env files' group.
if ! getent passwd reelstack >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/reelstack --no-create-home \
    --shell /usr/sbin/nologin reelstack
fi
install -d -m 0750 -o root -g reelstack /etc/reelstack
install -d -m 0750 -o reelstack -g reelstack /var/lib/reelstack /var/lib/reelstack/work
# The units append their output here (StandardOutput=append:, opened by systemd as root) and
# the CloudWatch agent, as root, ships it. copytruncate: systemd keeps the files open.
install -d -m 0750 -o root -g root /var/log/reelstack
cat >/etc/logrotate.d/reelstack <<'ROTATE'
/var/log/reelstack/*.log {
    daily
    rotate 3
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
}
ROTATE

python3.11 -m venv /opt/reelstack
/opt/reelstack/bin/pip install --quiet --no-cache-dir --upgrade pip
/opt/reelstack/bin/pip install --quiet --no-cache-dir -c "$build_dir/constraints.txt" "${wheels[0]}"
/opt/reelstack/bin/reelstack --help >/dev/null

install -m 0644 -o root -g root "${units[@]}" /etc/systemd/system/
systemctl daemon-reload

apt-get clean
rm -rf /var/lib/apt/lists/* "$build_dir"
