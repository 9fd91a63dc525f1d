"""pulse-echo: a dead man's switch for servers, as two AWS Lambda functions.

This package is what both functions share (it is in both zips): the S3
layout, the settings, time and text helpers, the reason codes, the echo and
failure records, AWS error reading, URL validation and JSON logs. Standard
library only; it imports neither function's package. Handlers:
``check_echo.handler.handler`` (S3 ObjectCreated on ``pulse/``) and
``check_result.handler.handler`` (EventBridge schedule).
"""

__version__ = "0.2.0"
