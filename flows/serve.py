"""Every paper's flow as a Prefect deployment; the typed flow parameters become the UI's run form.

Needs a real server: ``prefect server start`` and ``PREFECT_API_URL``. Each run executes in a
subprocess of this process, from the project root.
"""

from __future__ import annotations

from prefect import serve

from flows.registry import PIPELINES, get_flow


def serve_all(limit: int = 1) -> None:
    deployments = [get_flow(slug).to_deployment(name=slug, tags=["paperflows", slug, "deployment"]) for slug in PIPELINES]
    serve(*deployments, limit=limit, print_starting_message=True)


if __name__ == "__main__":
    serve_all()
