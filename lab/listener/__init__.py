"""`botify listen`: a local web page on which a person plays the simulator's user against a
running botify service (issue 24's listener page).

- service_client: the service's /next, /last and /experiments over HTTP, every failure a
  `ServiceError` carrying the service's own message;
- inputs: checking what the page's visitors send (a user id, a listened fraction);
- sessions: the sessions in play, started as the simulator starts them, and their counts;
- app: the Flask app (factory, as in Flask's tutorial), HTML for the page and JSON for scripts;
- main: the command line.
"""
