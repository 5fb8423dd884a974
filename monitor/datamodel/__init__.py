"""What is stored and how it is named.

Measurements, line protocol, InfluxQL quoting and the sensor vocabulary.
"""
