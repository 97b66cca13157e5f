"""The JavaScript the page inlines: Vega, Vega-Lite and vega-embed, and the page's own script.

The libraries come from the ``vl-convert-python`` package (its ``javascript_bundle``: the three
libraries and their dependencies in one script, no request at run time), at the Vega-Lite
version Altair writes its specs for; nothing of them is copied into the repository. Building
the bundle takes a few seconds, so it is built once per process.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

DASHBOARD_SCRIPT = Path(__file__).with_name("templates") / "dashboard.js"


def vega_lite_version() -> str:
    """The Vega-Lite minor version of Altair's schema (``v6.4.1`` -> ``v6.4``), if vl-convert has
    it; else vl-convert's newest (a spec of an older minor renders on a newer library)."""
    import altair
    import vl_convert

    wanted = ".".join(altair.SCHEMA_VERSION.split(".")[:2])
    offered = [f"v{v}" for v in vl_convert.get_vegalite_versions()]
    return wanted if wanted in offered else offered[-1]


@cache
def vega_bundle() -> str:
    """vega, vega-lite and vega-embed as one script assigning ``window.vegaEmbed``."""
    import vl_convert

    bundle = vl_convert.javascript_bundle(vl_version=vega_lite_version())
    return bundle.replace("</script", "<\\/script")  # never closes the page's <script> early


def dashboard_script() -> str:
    """The page's script: embeds each chart and links them through the selection."""
    return DASHBOARD_SCRIPT.read_text(encoding="utf-8")
