"""Uploads -> 16 kHz mono float32 samples (decode.py), and the limits checked on the way (validate.py)."""
