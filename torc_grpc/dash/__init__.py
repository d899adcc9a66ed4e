"""`torc-grpc dash`: a web dashboard that is a gRPC client of the server.

    data.py    what each page shows, read through the server's RPCs (JSON-ready dicts)
    live.py    a workflow's counts and events pushed to the browser (server-sent
               events), driven by the server's WatchEvents stream; no polling
    app.py     the HTTP routes (Starlette) and the key that guards them
    serve.py   the ASGI server (uvicorn) on 127.0.0.1, and the address with its key
    static/    the page, its script and style, and dagre (graph layout, MIT,
               vendored with its licence: compute sites are often offline)
"""
