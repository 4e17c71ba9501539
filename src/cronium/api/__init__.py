"""The REST API: a FastAPI app factory (``cronium.api.app.create_app``), its routers and
schemas. Importing the package builds nothing: the runtime API takes its request bounds and
error table from here without loading the REST application."""
