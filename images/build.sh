#!/bin/bash
# Build one reelstack AMI: the wheel of this checkout, then Packer with the role's variables.
#   images/build.sh backend|transcoder|progress [packer build options, e.g. -var region=eu-west-1]
# Prints the AMI id last; put it in Pulumi.<stack>.yaml (docs/platform-teams.md).
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
packer build -var-file="images/$role/$role.pkrvars.hcl" -var "wheel=${wheels[0]}" "$@" images/reelstack.pkr.hcl
