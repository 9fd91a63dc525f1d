"""pulse-echo: a dead man's switch for servers, as two AWS Lambda functions.

Handlers: ``pulse_echo.check_echo.handler`` (S3 ObjectCreated on ``pulse/``)
and ``pulse_echo.check_result.handler`` (EventBridge schedule).
"""

__version__ = "0.1.0"
