#!/bin/bash
# Build one reelstack AMI: the wheel of this checkout, then Packer with the role's variables.
#   images/build.sh backend|transcoder|progress [packer build options, e.g. -var region=eu-west-1]
# The AMI is named reelstack-<role>-<build time> and tagged with the commit; the next `pulumi up`
# boots the newest one unless Pulumi.<stack>.yaml pins an id (docs/platform-teams.md).
set -euo pipefail

role="${1:?usage: images/build.sh backend|transcoder|progress [packer build options]}"
shift
cd "$(dirname "$0")/.."
if [ ! -f "images/$role/$role.pkrvars.hcl" ]; then
  echo "images/build.sh: no role '$role' (backend, transcoder, progress)" >&2
  exit 2
fi

out="dist/ami-$role"
rm -rf "$out"
python3 -m pip wheel --no-deps --quiet --wheel-dir "$out" .
wheels=("$out"/reelstack-*.whl)
commit="$(git rev-parse HEAD)"
if [ -n "$(git status --porcelain)" ]; then
  commit="$commit-dirty"
fi
packer build -var-file="images/$role/$role.pkrvars.hcl" -var "wheel=${wheels[0]}" \
  -var "git_commit=$commit" "$@" images/reelstack.pkr.hcl
