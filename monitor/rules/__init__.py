"""Threshold monitoring: rule files, their evaluation state, and the scheduler."""
