"""``gsomia serve``: the node's HTTP server (TAXII 2.1 for partners) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from ..domain.errors import GsomiaError
from .shared import NodeOpt, add, open_node, option


def register(app: typer.Typer) -> None:
    """Add ``gsomia serve`` to ``app``."""
    add(app, "serve", serve)


def serve(
    node: NodeOpt = None,
    host: Annotated[str, option("Address to listen on.", "HOST", "--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535, metavar="PORT")] = 8600,
) -> None:
    """Serve this node: partners pull the releases addressed to them over TAXII 2.1 (/taxii2/), each with
    the token gsomia partner add issued it."""
    import threading

    import uvicorn  # deferred for start-up speed: the server stack loads only to serve

    from ..web.app import create_app, node_users
    from ..web.node_source import NodeTaxiiSource
    from ..web.peer_log import peer_log_router

    with open_node(node) as services:
        if not services.settings.party:
            raise GsomiaError("this node names no party; set party in gsomia.toml (gsomia init --party P)")
        source = NodeTaxiiSource(services)
        # partners' bundles are built as releases are recorded (by any process), not when first asked for
        threading.Thread(target=source.prepare_forever, name="gsomia-prepare", daemon=True).start()
        app = create_app(taxii_source=source, services=services, extra_routers=[peer_log_router(source)])
        base = f"http://{host}:{port}"
        typer.echo(f"gsomia node {services.settings.party}: open {base}/ui/ in a browser", err=True)
        typer.echo(
            f"  REST API {base}/api/v1/ (OpenAPI at /api/v1/openapi.json), TAXII 2.1 {base}/taxii2/", err=True
        )
        if not node_users(services).page("", 1):
            typer.echo(
                f"  no users yet: create the first admin with gsomia user add NAME --role admin --node "
                f"{services.settings.node_dir}",
                err=True,
            )
        uvicorn.run(app, host=host, port=port, log_level="warning")
