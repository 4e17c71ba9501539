"""What a worker does itself rather than in a sandbox: HTTP requests (later, tool actions)."""
