"""Process wiring: the receiver and admin apps, the supervisor, the evaluator, scheduling.

The only layer that joins rules to notify; everything below it knows nothing of processes.
"""
