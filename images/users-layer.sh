#!/bin/bash
# Build the user-service Lambda's dependency layer, dist/users-layer.zip (python/ at its root):
# the third-party packages app/users imports, as wheels for Python 3.11 on arm64 (the function's
# runtime and architecture), pinned by constraints.txt. boto3 comes with the Lambda runtime.
# The stack publishes the zip as a layer version (config key usersLayerZip).
set -euo pipefail

packages=(aws-lambda-powertools pydantic pydantic-settings)
python="${PYTHON:-python3}"
cd "$(dirname "$0")/.."

out="dist/users-layer"
rm -rf "$out" dist/users-layer.zip
mkdir -p "$out/python"
"$python" -m pip install --quiet --no-compile --target "$out/python" -c constraints.txt \
  --platform manylinux2014_aarch64 --implementation cp --python-version 3.11 --only-binary=:all: \
  "${packages[@]}"
"$python" -m zipfile -c dist/users-layer.zip "$out/python"
echo "dist/users-layer.zip"
