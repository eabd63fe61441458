"""Writes the JSON Schemas of the message classes to ``app/contracts/schemas/``.

Run ``python -m app.contracts.schema_files`` after changing a message class; a test
fails while the committed files differ from what the classes generate.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.contracts.messages import MESSAGE_SCHEMAS

SCHEMA_DIR = Path(__file__).parent / "schemas"


def render() -> dict[str, str]:
    """File name → JSON text of every message schema."""
    return {
        f"{name}.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for name, model in MESSAGE_SCHEMAS.items()
    }


def main() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for file_name, text in render().items():
        (SCHEMA_DIR / file_name).write_text(text)


if __name__ == "__main__":
    main()
