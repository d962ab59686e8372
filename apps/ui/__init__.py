"""Server-rendered pages that mount the front-end islands."""
