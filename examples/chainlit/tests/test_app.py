"""The Chainlit app at least loads: imported where Chainlit is installed, compiled where not
(the test requirements leave Chainlit out)."""

from __future__ import annotations

import importlib.util
import py_compile
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def test_the_app_loads() -> None:
    if importlib.util.find_spec("chainlit") is None:
        py_compile.compile(str(APP), doraise=True)
        return

    # As `chainlit run` does: executed before it is registered in `sys.modules`.
    spec = importlib.util.spec_from_file_location(str(APP), APP)
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)

    assert app.CONFIG.client_id == "chainlit-app"
    assert callable(app.on_message)


def test_the_sign_in_form_sends_its_secrets_only_with_the_answer() -> None:
    form = (APP.parent / "public" / "elements" / "SignInForm.jsx").read_text()

    assert 'type="password"' in form
    assert "submitElement({ username, password, code })" in form
    assert "updateElement" not in form
