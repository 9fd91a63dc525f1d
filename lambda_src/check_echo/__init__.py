"""check_echo: the function S3 invokes when a host uploads its pulse (handler ``check_echo.handler.handler``).

Modules: handler (the Lambda entry point and configuration), event (the S3
event's records), check (read the pulse, probe, write the echo or the failure
record), outcome (what became of each record: log lines and summary), pulse
(the pulse's format), probe (the HTTP probe) with targets, body and failures.
It imports pulse_echo, never check_result.
"""
