"""The remote side of the `weir` CLI: commands that talk to a Weir server's REST API with an
API token (`weir --server URL --token T …`), for CI jobs that have no database access.

Nothing here imports Django or reads database settings (docs/adr/0018).
"""
