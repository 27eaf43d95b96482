"""What the dashboard's AppTest tests share: the app's path, a tiny corpus, and setting shared options."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\n") * 30
PROMPT = "First Citizen:\n"


def set_shared(at: AppTest, **values) -> None:
    for name, value in values.items():
        at.number_input(key=f"shared.{name}").set_value(value)
