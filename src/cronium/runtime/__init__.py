"""The runtime API: what scripts reach through the helpers, over a Unix socket per worker."""
