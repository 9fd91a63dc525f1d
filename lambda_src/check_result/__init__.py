"""check_result: the scheduled run that finds down hosts and announces changes (handler
``check_result.handler.handler``).

Modules: handler (the entry point and the configuration), run (one run),
rules (the pure status rules), model (typed values), state (the state
document's schema and codec), store (S3), alert (the message), webhook and
delivery (webhook, then SNS with the pending outbox). It imports pulse_echo,
never check_echo.
"""
