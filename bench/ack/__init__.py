"""The ack-latency benchmark's parts; bench/ack_latency.py runs it."""
