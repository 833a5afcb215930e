"""What-if replays requested through the API: one workflow per request, its report its result."""
