"""Request bodies and response shapes of the HTTP API, one module per resource; ``common``
holds the field types and the request base they share."""
