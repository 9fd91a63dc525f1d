"""The operator's tools: pulse-status, pulse-pause and pulse-forget (commands; scripts/ has their
launchers).

Not in any Lambda zip. They import pulse_echo and check_result (its store and
status rules), so that a tool sees the bucket exactly as check_result does.
"""
