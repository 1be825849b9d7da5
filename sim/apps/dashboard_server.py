"""Voila for the dashboards, served on this machine only and cleaning up after itself.

``python -m sim dashboard`` replaces itself with this server (so a ``kill -9`` of the command kills the
server, and its kernels, which watch their parent, follow). On top of Voila 0.5 it:

- refuses requests whose Host header is not this machine (``localhost``, 127.0.0.0/8, ``::1``), so a
  DNS-rebinding page cannot read a dashboard or start kernels (Voila sets ``allow_remote_access``);
- sets the ``_xsrf`` cookie on the dashboard page: the page's shutdown beacon on reload or close sends it,
  and without it Voila refused the shutdown (403 '_xsrf' argument missing) and kept a kernel per visit;
- culls kernels idle for CULL_IDLE_SECONDS with no browser connected (a crashed tab's kernel too).

>>> voila_arguments("notebooks/01_policy_explorer.ipynb", 8866)[:3]
['notebooks/01_policy_explorer.ipynb', '--port=8866', '--Voila.ip=127.0.0.1']
"""

from __future__ import annotations

import sys
from typing import Any

CULL_IDLE_SECONDS = 300
CULL_INTERVAL_SECONDS = 60
LOCAL_HOSTNAMES = ["localhost"]
TEMPLATE = "fifty-minutes"


def voila_arguments(notebook: str, port: int, open_browser: bool = False) -> list[str]:
    """The Voila command-line arguments of a dashboard on 127.0.0.1:``port``."""
    args = [notebook, f"--port={port}", "--Voila.ip=127.0.0.1", f"--template={TEMPLATE}",
            f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_SECONDS}",
            f"--MappingKernelManager.cull_interval={CULL_INTERVAL_SECONDS}",
            "--MappingKernelManager.cull_connected=False",
            "--VoilaConfiguration.extension_denylist=['jupyterlab-jupytext']"]
    if not open_browser:
        args.append("--no-browser")
    return args


def local_voila() -> Any:
    """The Voila application class with the Host check and the _xsrf cookie (imported only when serving)."""
    from voila.app import Voila
    from voila.tornado.handler import TornadoVoilaHandler as VoilaHandler

    class LocalVoilaHandler(VoilaHandler):  # type: ignore[misc]
        async def prepare(self, *args: Any, **kwargs: Any) -> None:
            await super().prepare(*args, **kwargs)
            self.xsrf_token  # noqa: B018  (tornado sets the _xsrf cookie when the token is first read)

    class LocalVoila(Voila):  # type: ignore[misc]
        def init_settings(self) -> dict[str, Any]:
            settings: dict[str, Any] = super().init_settings()
            settings.update(allow_remote_access=False, local_hostnames=list(LOCAL_HOSTNAMES))
            return settings

        def init_handlers(self) -> list[Any]:
            handlers: list[Any] = super().init_handlers()
            return [(h[0], LocalVoilaHandler, *h[2:]) if len(h) > 1 and h[1] is VoilaHandler else h
                    for h in handlers]

    return LocalVoila


def main(argv: list[str] | None = None) -> None:
    local_voila().launch_instance(argv=sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
