"""The toolkit every layer shares.

Settings, config files, durations, times, state files, exit codes, metrics.
"""
