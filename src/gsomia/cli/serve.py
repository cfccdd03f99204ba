"""``gsomia serve``: the node's HTTP server (TAXII 2.1 for partners) under uvicorn."""

from __future__ import annotations

import gc
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
        app = create_app(taxii_source=source, services=services, extra_routers=[peer_log_router(source)])
        settle_heap()
        # partners' bundles are built as releases are recorded (by any process), not when first asked for
        threading.Thread(target=source.prepare_forever, name="gsomia-prepare", daemon=True).start()
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


def settle_heap() -> None:
    """Leave what start-up built out of the cyclic collector's passes: collect once, then freeze.

    A server's start-up loads the web stack, the STIX validator and its schemas: about 280,000 objects
    the collector tracks, which live as long as the process. Each full collection walked all of them
    again while bundles were built and pages served: building 1,000 bundles in one process took 0.94-0.97
    ms of CPU each, 0.71 ms with the collector off, 0.67-0.78 ms frozen (benchmarks/README.md). Frozen
    objects are still freed when their last reference goes; only a cycle among them would outlive its
    use, and start-up builds none that is dropped later (the node's world is read when a request first
    needs it, after this)."""
    gc.collect()
    gc.freeze()
