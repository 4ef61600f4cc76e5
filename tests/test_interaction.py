"""The seam every message box and file chooser goes through: the real dialogs and the scripted
answers the tests give must be the same set of questions, asked the same way."""

from __future__ import annotations

import inspect

from dbcomm.ui.interaction import Interaction
from ui_helpers import FakeInteraction


def test_the_real_dialogs_answer_every_question_the_tests_script():
    asked = {name for name, _ in inspect.getmembers(FakeInteraction, inspect.isfunction)
             if not name.startswith("_") and name != "of_kind"}  # of_kind: what the test reads back
    real = {name for name, _ in inspect.getmembers(Interaction, inspect.isfunction) if not name.startswith("_")}
    assert asked == real, f"scripted only: {sorted(asked - real)}; real only: {sorted(real - asked)}"
    for name in asked:
        scripted = list(inspect.signature(getattr(FakeInteraction, name)).parameters)
        actual = list(inspect.signature(getattr(Interaction, name)).parameters)
        assert scripted == actual, name
